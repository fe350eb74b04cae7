package sign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	pgped25519 "github.com/ProtonMail/go-crypto/openpgp/ed25519"
	"github.com/ProtonMail/go-crypto/openpgp/eddsa"
)

// TarballKey signs hotfix tarballs with a detached signature that openssl checks: RSA
// PKCS#1 v1.5 over SHA-256 (`openssl dgst -sha256`), or Ed25519 over the whole file
// (`openssl pkeyutl -rawin`: OpenSSL 3.0, as on Debian 12 and RHEL 9, refuses Ed25519 keys in
// `openssl dgst`). Both signatures are deterministic, so a rebuild gives the same .sig.
type TarballKey struct {
	priv crypto.Signer
}

// LoadTarballKey reads a private key: PEM (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY",
// RSA or Ed25519, as `openssl genpkey` or `hotchain keygen` write it), or an OpenPGP secret
// key (the -sign-key file), whose key material then signs the tarball too.
func LoadTarballKey(path string) (*TarballKey, error) {
	data, err := ReadKeyFile(path, "tarball key")
	if err != nil {
		return nil, err
	}
	return ParseTarballKey(data, path, os.Getenv(PassphraseEnv), time.Now())
}

// ParseTarballKey is LoadTarballKey on the bytes of the key file path; an OpenPGP key is
// unlocked with passphrase and must be able to sign at now.
func ParseTarballKey(data []byte, path, passphrase string, now time.Time) (*TarballKey, error) {
	if isOpenPGP(data) {
		s, err := ParseSigner(data, path, passphrase, now)
		if err != nil {
			return nil, err
		}
		return TarballKeyFromSigner(s)
	}
	var err error
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("tarball key %s is neither PEM nor OpenPGP: make one with hotchain keygen or openssl genpkey -algorithm ed25519", path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("tarball key %s is encrypted: decrypt it to a protected file with openssl pkey -in %s -out KEY.pem", path, path)
	default:
		return nil, fmt.Errorf("tarball key %s holds a PEM %q block: want a private key (\"PRIVATE KEY\" or \"RSA PRIVATE KEY\")", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("tarball key %s: %w", path, err)
	}
	k, err := newTarballKey(key)
	if err != nil {
		return nil, fmt.Errorf("tarball key %s: %w", path, err)
	}
	return k, nil
}

func newTarballKey(key any) (*TarballKey, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too weak: use 2048 bits or more", k.N.BitLen())
		}
		return &TarballKey{priv: k}, nil
	case ed25519.PrivateKey:
		return &TarballKey{priv: k}, nil
	case *ed25519.PrivateKey:
		return &TarballKey{priv: *k}, nil
	}
	return nil, fmt.Errorf("key type %T cannot sign tarballs: use RSA or Ed25519", key)
}

// TarballKeyFromSigner is the key material of the OpenPGP key that signs (the primary key
// of a key hotchain keygen made) as a tarball key, so a vendor can keep one key for
// packages, repositories and tarballs.
func TarballKeyFromSigner(s *Signer) (*TarballKey, error) {
	pk := s.key.PrivateKey
	if pk == nil {
		return nil, errors.New("the OpenPGP key has no secret part")
	}
	switch k := pk.PrivateKey.(type) {
	case *rsa.PrivateKey:
		return newTarballKey(k)
	case *eddsa.PrivateKey:
		if k.GetCurve().GetCurveName() != "ed25519" || len(k.D) != ed25519.SeedSize {
			return nil, fmt.Errorf("EdDSA key on curve %s cannot sign tarballs: use an RSA or Ed25519 key", k.GetCurve().GetCurveName())
		}
		priv := ed25519.NewKeyFromSeed(k.D)
		if !bytes.Equal(priv.Public().(ed25519.PublicKey), k.X) {
			return nil, errors.New("the OpenPGP Ed25519 key is inconsistent: its secret does not match its public key")
		}
		return newTarballKey(priv)
	case *pgped25519.PrivateKey:
		if len(k.Key) < ed25519.SeedSize {
			return nil, errors.New("the OpenPGP Ed25519 key is truncated")
		}
		return newTarballKey(ed25519.NewKeyFromSeed(k.Key[:ed25519.SeedSize]))
	}
	return nil, fmt.Errorf("OpenPGP key type %T cannot sign tarballs: use an RSA or Ed25519 key", pk.PrivateKey)
}

// Algorithm is "rsa" or "ed25519".
func (k *TarballKey) Algorithm() KeyAlgorithm {
	if _, ok := k.priv.(ed25519.PrivateKey); ok {
		return Ed25519
	}
	return RSA
}

// Sign returns the detached signature of data (the whole tarball).
func (k *TarballKey) Sign(data []byte) ([]byte, error) {
	var sig []byte
	var err error
	switch p := k.priv.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(p, data)
	case *rsa.PrivateKey:
		sum := sha256.Sum256(data)
		sig, err = rsa.SignPKCS1v15(nil, p, crypto.SHA256, sum[:])
	}
	if err != nil {
		return nil, fmt.Errorf("sign tarball: %w", err)
	}
	return sig, nil
}

// SignFile signs the file at path as Sign signs its content: RSA hashes it as it reads it;
// Ed25519 signs the message itself (what openssl pkeyutl -rawin checks) and needs it whole.
func (k *TarballKey) SignFile(path string) ([]byte, error) {
	if _, ok := k.priv.(ed25519.PrivateKey); ok {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sign tarball: %w", err)
		}
		return k.Sign(data)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sign tarball: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("sign tarball: %w", err)
	}
	sig, err := rsa.SignPKCS1v15(nil, k.priv.(*rsa.PrivateKey), crypto.SHA256, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("sign tarball: %w", err)
	}
	return sig, nil
}

// PrivatePEM is the key as PKCS#8 PEM, the form openssl genpkey writes.
func (k *TarballKey) PrivatePEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("encode tarball key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicPEM is the public key as PKIX PEM ("PUBLIC KEY"), the pub.pem that VerifyTarball and
// openssl take.
func (k *TarballKey) PublicPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		return nil, fmt.Errorf("encode tarball public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// VerifyCommand is the openssl command that checks a tarball signature made with a key of
// algo, on OpenSSL 3.0 and later.
func VerifyCommand(algo KeyAlgorithm, pubPEM, tarball, sig string) string {
	if algo == Ed25519 {
		return fmt.Sprintf("openssl pkeyutl -verify -pubin -inkey %s -rawin -in %s -sigfile %s", pubPEM, tarball, sig)
	}
	return fmt.Sprintf("openssl dgst -sha256 -verify %s -signature %s %s", pubPEM, sig, tarball)
}

// ErrBadSignature means a tarball's signature does not match the tarball with the key given:
// the tarball was changed after it was signed, or another key signed it.
var ErrBadSignature = errors.New("signature does not match")

// TarballPublicKey checks tarball signatures: the public half of a TarballKey.
type TarballPublicKey struct {
	pub crypto.PublicKey // ed25519.PublicKey or *rsa.PublicKey
}

// LoadTarballPublicKey reads the vendor's public key (TARBALL_KEY on hosts, pub.pem): PEM
// "PUBLIC KEY" (or PKCS#1 "RSA PUBLIC KEY"), RSA or Ed25519, at most MaxKeySize bytes.
func LoadTarballPublicKey(path string) (*TarballPublicKey, error) {
	data, err := ReadKeyFile(path, "public key")
	if err != nil {
		return nil, err
	}
	return ParseTarballPublicKey(data, path)
}

// ParseTarballPublicKey is LoadTarballPublicKey on the bytes of the file path.
func ParseTarballPublicKey(data []byte, path string) (*TarballPublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("public key %s is not PEM: want the vendor's pub.pem (\"PUBLIC KEY\")", path)
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("public key %s holds a PEM %q block: want \"PUBLIC KEY\"", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		return &TarballPublicKey{k}, nil
	case *rsa.PublicKey:
		return &TarballPublicKey{k}, nil
	}
	return nil, fmt.Errorf("public key %s is a %T: tarballs are signed with RSA or Ed25519", path, key)
}

// Verify checks sig, the detached signature of data (the whole tarball), and returns
// ErrBadSignature when it does not match.
func (k *TarballPublicKey) Verify(data, sig []byte) error {
	ok := false
	switch p := k.pub.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(p, data, sig)
	case *rsa.PublicKey:
		sum := sha256.Sum256(data)
		ok = rsa.VerifyPKCS1v15(p, crypto.SHA256, sum[:], sig) == nil
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}
