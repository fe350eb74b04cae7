package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hotchain/hotchain/internal/hint"
)

// Keyring holds the public keys a host trusts for a repository (the gpgkey files of its
// .repo file) and checks detached signatures of what the repository serves with them.
type Keyring struct {
	list  openpgp.EntityList
	paths []string
}

// Add adds the keys of one key file, already read with a bound (ReadKeyFile); path names
// it in messages.
func (k *Keyring) Add(data []byte, path string) error {
	ring, err := parseKeyRing(data)
	if err != nil {
		return hint.With(fmt.Errorf("key file %s is not an OpenPGP public key: %w", path, err),
			"reinstall the base RPM, which brings the vendor's key")
	}
	k.list = append(k.list, ring...)
	k.paths = append(k.paths, path)
	return nil
}

// Len is the number of keys added.
func (k *Keyring) Len() int { return len(k.list) }

// CheckArmoredDetached checks that sig, an ASCII-armored detached signature of at most
// MaxSignatureSize bytes (as repomd.xml.asc), is one of the keyring's keys' signature of
// signed, as of now. A signature by another key is an error that wraps ErrUnknownIssuer.
func (k *Keyring) CheckArmoredDetached(signed, sig []byte, now time.Time) error {
	cfg, err := k.checkConfig(sig, now)
	if err != nil {
		return err
	}
	_, err = openpgp.CheckArmoredDetachedSignature(k.list, bytes.NewReader(signed), bytes.NewReader(sig), cfg)
	return err
}

// CheckDetached checks that sig, a binary detached signature of at most MaxSignatureSize
// bytes (as an RPM's header signature), is one of the keyring's keys' signature of signed,
// as of now. A signature by another key is an error that wraps ErrUnknownIssuer.
func (k *Keyring) CheckDetached(signed io.Reader, sig []byte, now time.Time) error {
	cfg, err := k.checkConfig(sig, now)
	if err != nil {
		return err
	}
	_, err = openpgp.CheckDetachedSignature(k.list, signed, bytes.NewReader(sig), cfg)
	return err
}

// checkConfig refuses a signature larger than MaxSignatureSize and an empty keyring, and
// returns the configuration that checks a signature as of now.
func (k *Keyring) checkConfig(sig []byte, now time.Time) (*packet.Config, error) {
	if len(sig) > MaxSignatureSize {
		return nil, fmt.Errorf("signature of %d bytes is larger than %d, the limit for a signature", len(sig), MaxSignatureSize)
	}
	if len(k.list) == 0 {
		return nil, errors.New("no key to check the signature with")
	}
	return &packet.Config{Time: func() time.Time { return now }}, nil
}
