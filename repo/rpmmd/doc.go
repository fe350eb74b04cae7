// Package rpmmd is the XML of rpm-md (yum/dnf) metadata: it writes a package's elements of
// primary, filelists and other byte for byte as createrepo_c (libxml2) writes them, checks
// that an element reused from old metadata is well-formed and undoes its escapes, and
// parses metadata back into package entries (the tests compare hotchain's output and
// createrepo_c's with it).
//
// It is its own package because the format is apart from how a repository is built: it
// knows rpmfile.Package and nothing of files, locks or signatures.
package rpmmd
