// Package repo holds the yum/dnf repositories of hotfix chains. On the vendor side it
// writes repodata (repomd.xml, primary, filelists and other, byte for byte as createrepo_c
// writes them) with its detached signature and the .repo file that hosts use, and serves
// repositories over HTTP. On the host side it rewrites the .repo file for a new base
// version and talks to dnf, yum and rpm for the agent (dnf.go).
//
// It never builds or signs packages (packaging does) and never changes the product tree;
// it signs repomd.xml and checks package signatures with package internal/sign.
package repo
