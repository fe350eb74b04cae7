// Package repo publishes hotfix RPMs as yum/dnf repositories on the vendor side: it writes
// repodata (repomd.xml, primary, filelists, other, as createrepo_c writes them) and its
// detached signature, the .repo file that hosts use, and serves repositories over HTTP.
// On the host side it only rewrites the .repo file for a new base version.
//
// It never builds or signs packages (packaging does) and never runs yum, dnf or rpm.
package repo
