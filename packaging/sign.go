package packaging

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// PassphraseEnv names the environment variable that holds the passphrase of an encrypted
// signing key, so that it never appears on a command line.
const PassphraseEnv = "HOTCHAIN_KEY_PASSPHRASE"

// Signer makes OpenPGP signatures with the vendor's key: RPM header signatures and the
// detached signature of repomd.xml.
type Signer struct {
	entity *openpgp.Entity
	// Time is the signature creation time; set it from SOURCE_DATE_EPOCH for reproducible
	// output (RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic given the time).
	Time time.Time
}

// LoadSigner reads a secret key as `gpg --export-secret-keys [--armor]` writes it. An
// encrypted key is unlocked with the passphrase in $HOTCHAIN_KEY_PASSPHRASE.
func LoadSigner(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	var ring openpgp.EntityList
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP")) {
		ring, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		ring, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s is not an OpenPGP key: %w (export one with gpg --export-secret-keys --armor, or make one with hotchain keygen)", path, err)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			pass := os.Getenv(PassphraseEnv)
			if pass == "" {
				return nil, fmt.Errorf("signing key %s is protected by a passphrase: set %s", path, PassphraseEnv)
			}
			if err := e.DecryptPrivateKeys([]byte(pass)); err != nil {
				return nil, fmt.Errorf("unlock signing key %s: %w", path, err)
			}
		}
		return &Signer{entity: e}, nil
	}
	return nil, fmt.Errorf("signing key %s holds only public keys: export the secret key with gpg --export-secret-keys --armor", path)
}

func (s *Signer) config() *packet.Config {
	t := s.Time
	// go-crypto salts v4 signatures with a random notation by default (a guard against
	// fault attacks on EdDSA); that would make every signed RPM and repomd.xml.asc differ
	// from the last build, so reproducible output turns it off.
	salted := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA256,
		Time:                                  func() time.Time { return t },
		NonDeterministicSignaturesViaNotation: &salted,
	}
}

// Sign returns a binary detached signature of data, the form an RPM header signature takes.
func (s *Signer) Sign(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.DetachSign(&buf, s.entity, bytes.NewReader(data), s.config()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return buf.Bytes(), nil
}

// SignReader returns a binary detached signature of what r holds, read as a stream: the
// signature of an RPM's header and payload.
func (s *Signer) SignReader(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.DetachSign(&buf, s.entity, r, s.config()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return buf.Bytes(), nil
}

// SignArmored writes an ASCII-armored detached signature of r to w (repomd.xml.asc).
func (s *Signer) SignArmored(w io.Writer, r io.Reader) error {
	if err := openpgp.ArmoredDetachSign(w, s.entity, r, s.config()); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

// PublicKeyArmored is the public key as `gpg --export --armor` writes it: the file that
// rpm --import and a .repo file's gpgkey= take.
func (s *Signer) PublicKeyArmored() ([]byte, error) { return armoredPublicKey(s.entity) }

// KeyID is the signing key's 16-hex-digit key id, as rpm -qi shows it.
func (s *Signer) KeyID() string { return fmt.Sprintf("%016x", s.entity.PrimaryKey.KeyId) }

// Entity exposes the underlying key, for callers that need its raw private key.
func (s *Signer) Entity() *openpgp.Entity { return s.entity }

func armoredPublicKey(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("export public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// KeyAlgorithm is what GenerateKey makes.
type KeyAlgorithm string

// The algorithms GenerateKey makes; rpm 4.14 and later verify both.
const (
	RSA     KeyAlgorithm = "rsa"
	Ed25519 KeyAlgorithm = "ed25519"
)

// GenerateKey makes a new signing key for name <email>, valid from now on.
func GenerateKey(name, email string, algo KeyAlgorithm, now time.Time) (*Signer, error) {
	cfg := &packet.Config{DefaultHash: crypto.SHA256, Time: func() time.Time { return now }}
	switch algo {
	case RSA:
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = 3072
	case Ed25519:
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
		cfg.Curve = packet.Curve25519
	default:
		return nil, fmt.Errorf("key algorithm %q: want rsa or ed25519", algo)
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &Signer{entity: e}, nil
}

// SecretKeyArmored is the secret key as `gpg --export-secret-keys --armor` writes it.
func (s *Signer) SecretKeyArmored() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := s.entity.SerializePrivate(w, nil); err != nil {
		return nil, fmt.Errorf("export secret key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
