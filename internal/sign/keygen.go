package sign

import (
	"bytes"
	"crypto"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// KeyAlgorithm is what GenerateKey makes.
type KeyAlgorithm string

// The algorithms GenerateKey makes; rpm 4.14 and later verify both.
const (
	RSA     KeyAlgorithm = "rsa"
	Ed25519 KeyAlgorithm = "ed25519"
)

// GenerateKey makes a new signing key for name <email>, valid from now on: a primary key
// that signs and certifies, and an encryption subkey (go-crypto always adds one).
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
	key, err := signingKey(e, "", now)
	if err != nil {
		return nil, err
	}
	return &Signer{entity: e, key: key}, nil
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
