package main

import (
	"github.com/hotchain/hotchain/internal/agent/intake"
	"github.com/hotchain/hotchain/sysconfig"
)

// unpackVerified reads a hotfix tarball once into a private copy, checks its detached
// signature (TARBALL.sig) against TARBALL_KEY over that copy, and unpacks the same copy into
// PATCHES_DIR: what is applied is what was signed.
// As root, a TARBALL_KEY that another user could have written is refused: whoever can write
// the key decides which tarballs run their Install scripts as root.
func unpackVerified(cfg *sysconfig.Config, tarball string) (string, error) {
	return unpackVerifiedInto(cfg, tarball, cfg.InRoot(cfg.PatchesDir))
}

// unpackVerifiedInto is unpackVerified into dest (apply -dry-run: a private directory).
func unpackVerifiedInto(cfg *sysconfig.Config, tarball, dest string) (string, error) {
	return intake.UnpackTarball(cfg, tarball, tarball+".sig", dest)
}
