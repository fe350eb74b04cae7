// Package packaging builds what the vendor ships: the hotfix RPM and tarball (same content),
// the base RPM that enables hotfixes on a host, and the key files (WriteKeyFiles). The host
// checks and unpacks a hotfix tarball with the sub-package packaging/unpack. The keys and
// signatures themselves are package internal/sign's.
//
// It builds RPMs with github.com/google/rpmpack, which makes the lead and headers, and
// corrects what rpmpack v0.7.1 gets wrong for us (see rpm.go); the payload it writes itself
// (payload.go), streamed from disk to a temporary file, because rpmpack holds every file's
// content in memory. Every build is byte-reproducible: the same input and the same
// SOURCE_DATE_EPOCH give the same RPM, tarball and signatures.
//
// It must not install anything, run rpm, yum or dnf, or touch a host's product tree: the
// applier in package hotfix does that. Outputs are written atomically, and bad input
// (a broken hotfix directory, a hostile tarball) changes nothing on disk.
package packaging
