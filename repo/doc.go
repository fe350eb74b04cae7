// Package repo holds the yum/dnf repositories of hotfix chains. On the vendor side it
// writes repodata (repomd.xml, primary, filelists and other, byte for byte as createrepo_c
// writes them) with its detached signature and the .repo file that hosts use, and serves
// repositories over HTTP; `hotchain repo-file` uses it to move a host's .repo file to a new
// base version. The host's client of dnf, yum and rpm is the sub-package repo/dnf, which
// does not import this package; the writer of offline bundles is the sub-package repo/bundle,
// which builds their metadata with Build.
//
// It never builds or signs packages (packaging does) and never changes the product tree;
// it signs repomd.xml and checks package signatures with package internal/sign.
package repo
