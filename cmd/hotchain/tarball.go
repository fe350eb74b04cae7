package main

import (
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/sysconfig"
)

// unpackVerified checks a hotfix tarball's detached signature (TARBALL.sig) against
// TARBALL_KEY before anything of it is read, then unpacks it into PATCHES_DIR.
func unpackVerified(cfg *sysconfig.Config, tarball string) (string, error) {
	if err := packaging.VerifyTarball(tarball, tarball+".sig", cfg.InRoot(cfg.TarballKey)); err != nil {
		return "", withHint(err, "get the tarball and its .sig again from the vendor; TARBALL_KEY in the settings names the vendor's public key")
	}
	return packaging.UnpackTarball(tarball, cfg.InRoot(cfg.PatchesDir))
}
