// Package sysconfig reads the host's hotfix settings, /etc/sysconfig/<product>-hotfix:
// shell-style KEY=VALUE lines layered as defaults < file < environment (through viper),
// checked, and turned into a Config whose paths are absolute host-view paths.
//
// It also writes the documented settings file that the base RPM installs (Template) and
// finds the settings file when no -config is given (Locate).
//
// It must not run anything: values are never passed to a shell, and command values
// (PRE_HOOK, POST_HOOK, PRODUCT_VERSION_CMD, YUM_PARAMETER) are only split into words
// with Split. It must not change the files that the settings name; it reads the settings
// file itself and, when asked, SCRIPT_ENV_FILE (ReadEnvFile) and who may write a file it
// names (CheckTrusted), and the system's time zone data for the zones INSTALL_WINDOW names
// (time.LoadLocation; nothing is embedded); Config.Resolve and Config.ResolvePaths look at
// (lstat, readlink) the paths the settings name inside -root, to take them inside it. As root it
// refuses a settings file or SCRIPT_ENV_FILE that another user could have written, and
// reads each to a documented limit.
package sysconfig
