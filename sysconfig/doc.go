// Package sysconfig reads the host's hotfix settings, /etc/sysconfig/<product>-hotfix:
// shell-style KEY=VALUE lines layered as defaults < file < environment (through viper),
// checked, and turned into a Config whose paths are absolute host-view paths.
//
// It also writes the documented settings file that the base RPM installs (Template) and
// finds the settings file when no -config is given (Locate).
//
// It must not run anything: values are never passed to a shell, and command values
// (PRE_HOOK, POST_HOOK, PRODUCT_VERSION_CMD, YUM_PARAMETER) are only split into words
// with Split. It must not touch the files that the settings name; it only reads the
// settings file itself, and Config.Resolve and Config.ResolvePaths look at (lstat,
// readlink) the paths the settings name inside -root, to take them inside it.
package sysconfig
