package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/filetrust"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
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
	return unpackVerifiedSig(cfg, tarball, tarball+".sig", dest)
}

// unpackVerifiedSig is unpackVerifiedInto with the signature read from sigPath (the drop
// folder passes a private copy of it).
func unpackVerifiedSig(cfg *sysconfig.Config, tarball, sigPath, dest string) (string, error) {
	keyPath := cfg.InRoot(cfg.TarballKey)
	pub, err := readTarballKey(keyPath)
	var unsafe *filetrust.UnsafeError
	if errors.As(err, &unsafe) {
		return "", err // its own hint: the chmod or chown
	}
	if err != nil {
		err = &unpack.SignatureError{Err: err}
	} else {
		var dir string
		dir, err = unpack.VerifiedTarballWith(tarball, sigPath, pub, keyPath, dest)
		if err == nil {
			return dir, nil
		}
	}
	if se := (*unpack.SignatureError)(nil); errors.As(err, &se) {
		return "", withHint(err, "get the tarball and its .sig again from the vendor; TARBALL_KEY in the settings names the vendor's public key")
	}
	return "", err
}

// readTarballKey reads TARBALL_KEY once, checking on the same open file that no other user
// could have written it, and parses it; its errors read as package sign's.
func readTarballKey(keyPath string) (*sign.TarballPublicKey, error) {
	data, err := sysconfig.ReadTrusted(keyPath, "TARBALL_KEY", sign.MaxKeySize)
	switch {
	case boundedio.IsTooLarge(err):
		return nil, &sign.TooLargeError{What: "public key", Path: keyPath, Limit: sign.MaxKeySize}
	case os.IsNotExist(err):
		return nil, fmt.Errorf("read public key: %w", err)
	case err != nil:
		return nil, err
	}
	return sign.ParseTarballPublicKey(data, keyPath)
}
