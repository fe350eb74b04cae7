package intake

import (
	"errors"
	"fmt"
	"os"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/filetrust"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
	"github.com/hotchain/hotchain/sysconfig"
)

// UnpackTarball reads the hotfix tarball once into a private copy, checks its detached
// signature (read from sigPath; the drop folder passes a private copy of it) with
// TARBALL_KEY and unpacks it into dest (cmd/hotchain's unpackVerified for apply).
func UnpackTarball(cfg *sysconfig.Config, tarball, sigPath, dest string) (string, error) {
	return UnpackTarballFile(cfg, nil, tarball, sigPath, dest)
}

// UnpackTarballFile is UnpackTarball for a tarball the caller opened (in; nil: open
// tarball): the drop folder's, opened without following a symlink.
func UnpackTarballFile(cfg *sysconfig.Config, in *os.File, tarball, sigPath, dest string) (string, error) {
	keyPath := cfg.InRoot(cfg.TarballKey)
	pub, err := ReadTarballKey(keyPath)
	var unsafe *filetrust.UnsafeError
	if errors.As(err, &unsafe) {
		return "", err // its own hint: the chmod or chown
	}
	if err != nil {
		err = &unpack.SignatureError{Err: err}
	} else {
		var dir string
		if in != nil {
			dir, err = unpack.VerifiedTarballFile(in, tarball, sigPath, pub, keyPath, dest)
		} else {
			dir, err = unpack.VerifiedTarballWith(tarball, sigPath, pub, keyPath, dest)
		}
		if err == nil {
			return dir, nil
		}
	}
	if se := (*unpack.SignatureError)(nil); errors.As(err, &se) {
		return "", cli.WithHint(err, "get the tarball and its .sig again from the vendor; TARBALL_KEY in the settings names the vendor's public key")
	}
	return "", err
}

// ReadTarballKey reads TARBALL_KEY once, checking on the same open file that no other user
// could have written it, and parses it; its errors read as package sign's.
func ReadTarballKey(keyPath string) (*sign.TarballPublicKey, error) {
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
