package packaging

import (
	"fmt"
	"os"

	"github.com/hotchain/hotchain/internal/sign"
)

// KeyFiles are the files of one vendor key, as WriteKeyFiles names them for PREFIX.
type KeyFiles struct {
	Secret        string // PREFIX.asc: the OpenPGP secret key (-sign-key), mode 0600
	Public        string // PREFIX.pub.asc: the OpenPGP public key (rpm --import, RPM-GPG-KEY-*)
	TarballSecret string // PREFIX.pem: the same key as PKCS#8 PEM (-tarball-key), mode 0600
	TarballPublic string // PREFIX.pub.pem: its public half, for openssl and hotchain apply
}

// KeyFileNames names the key files for prefix.
func KeyFileNames(prefix string) KeyFiles {
	return KeyFiles{prefix + ".asc", prefix + ".pub.asc", prefix + ".pem", prefix + ".pub.pem"}
}

// WriteKeyFiles writes s as the four KeyFiles of prefix. The PEM pair holds the same key
// material as the OpenPGP key, so one key signs packages, repositories and tarballs. It
// refuses to overwrite any existing file: a lost signing key cannot be made again.
func WriteKeyFiles(s *sign.Signer, prefix string) (*KeyFiles, error) {
	kf := KeyFileNames(prefix)
	secret, err := s.SecretKeyArmored()
	if err != nil {
		return nil, err
	}
	public, err := s.PublicKeyArmored()
	if err != nil {
		return nil, err
	}
	tk, err := sign.TarballKeyFromSigner(s)
	if err != nil {
		return nil, err
	}
	tsecret, err := tk.PrivatePEM()
	if err != nil {
		return nil, err
	}
	tpublic, err := tk.PublicPEM()
	if err != nil {
		return nil, err
	}
	type keyFile struct {
		path string
		data []byte
		perm os.FileMode
	}
	outs := []keyFile{{kf.Secret, secret, 0o600}, {kf.Public, public, 0o644}, {kf.TarballSecret, tsecret, 0o600}, {kf.TarballPublic, tpublic, 0o644}}
	for _, o := range outs {
		if _, err := os.Lstat(o.path); err == nil {
			return nil, fmt.Errorf("%s already exists: choose another -out prefix, or move the old key files away first", o.path)
		}
	}
	for _, o := range outs {
		if err := writeNew(o.path, o.data, o.perm); err != nil {
			return nil, err
		}
	}
	return &kf, nil
}
