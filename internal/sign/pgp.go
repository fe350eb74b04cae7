package sign

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hotchain/hotchain/internal/hint"
)

// PassphraseEnv names the environment variable that holds the passphrase of an encrypted
// signing key, so that it never appears on a command line.
const PassphraseEnv = "HOTCHAIN_KEY_PASSPHRASE"

// ErrUnknownIssuer means a signature was made by another key than the one it was checked
// with.
var ErrUnknownIssuer = pgperrors.ErrUnknownIssuer

// Signer makes OpenPGP signatures with the vendor's key: RPM header signatures and the
// detached signature of repomd.xml. It signs with one key of the entity, chosen when it
// is loaded (the newest valid signing subkey, else the primary key), so that every
// signature of a run names the same key.
type Signer struct {
	entity *openpgp.Entity
	key    openpgp.Key // the (sub)key that signs
	path   string      // the key file, for messages; "" for a generated key
	also   []*Signer   // the other keys that sign with this one (Join), in order
	// Time is when the output is dated (SOURCE_DATE_EPOCH or the run's time); the
	// signatures carry SignatureTime(Time). Zero means now.
	Time time.Time
}

// LoadSigner reads a secret key as `gpg --export-secret-keys [--armor]` writes it, at most
// MaxKeySize bytes. It refuses, with what to do, a key that cannot sign now: expired,
// revoked, without a signing key or subkey, without the secret of that key, or encrypted
// while $HOTCHAIN_KEY_PASSPHRASE is empty or wrong.
func LoadSigner(path string) (*Signer, error) {
	data, err := ReadKeyFile(path, "signing key")
	if err != nil {
		return nil, err
	}
	s, err := ParseSigner(data, path, os.Getenv(PassphraseEnv), time.Now())
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ParseSigner is LoadSigner on the bytes of the key file path, with the passphrase given
// and the key checked at now.
func ParseSigner(data []byte, path, passphrase string, now time.Time) (*Signer, error) {
	ring, err := parseKeyRing(data)
	if err != nil {
		return nil, hint.With(fmt.Errorf("signing key %s is not an OpenPGP key: %w", path, err),
			"export one with gpg --export-secret-keys --armor KEYID > KEY.asc, or make one with hotchain keygen")
	}
	var e *openpgp.Entity
	for _, c := range ring {
		if c.PrivateKey != nil {
			e = c
			break
		}
	}
	if e == nil {
		return nil, hint.With(fmt.Errorf("signing key %s holds only public keys", path),
			"export the secret key with gpg --export-secret-keys --armor KEYID > KEY.asc")
	}
	key, err := signingKey(e, path, now)
	if err != nil {
		return nil, err
	}
	if key.PrivateKey.Encrypted {
		if passphrase == "" {
			return nil, &KeyError{Path: path, KeyID: keyID(key.PublicKey),
				Reason: "its secret is protected by a passphrase, and $" + PassphraseEnv + " is empty",
				hint: "set " + PassphraseEnv + " to the passphrase in the build's environment (never on the command line), " +
					"or export a copy without a passphrase on a protected build machine: in a copy of GNUPGHOME, " +
					"gpg --passwd " + fingerprint(e.PrimaryKey) + " (an empty passphrase), then gpg --export-secret-keys --armor"}
		}
		if err := key.PrivateKey.Decrypt([]byte(passphrase)); err != nil {
			return nil, &KeyError{Path: path, KeyID: keyID(key.PublicKey),
				Reason: "the passphrase in $" + PassphraseEnv + " does not unlock it (" + err.Error() + ")",
				hint:   "set " + PassphraseEnv + " to the passphrase the key was exported with"}
		}
	}
	return &Signer{entity: e, key: key, path: path}, nil
}

// At is a copy of s that dates its output at when.
func (s *Signer) At(when time.Time) *Signer {
	c := *s
	c.Time = when
	return &c
}

func (s *Signer) config() (*packet.Config, error) {
	t, err := s.SignatureTime(s.Time)
	if err != nil {
		return nil, err
	}
	// go-crypto salts v4 signatures with a random notation by default (a guard against
	// fault attacks on EdDSA); that would make every signed RPM and repomd.xml.asc differ
	// from the last build, so reproducible output turns it off.
	salted := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA256,
		Time:                                  func() time.Time { return t },
		SigningKeyId:                          s.key.PublicKey.KeyId,
		NonDeterministicSignaturesViaNotation: &salted,
	}, nil
}

// Sign returns a binary detached signature of data, the form an RPM header signature takes.
func (s *Signer) Sign(data []byte) ([]byte, error) {
	return s.SignReader(bytes.NewReader(data))
}

// SignReader returns a binary detached signature of what r holds, read as a stream: the
// signature of an RPM's header and payload.
func (s *Signer) SignReader(r io.Reader) ([]byte, error) {
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := openpgp.DetachSign(&buf, s.entity, r, cfg); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return buf.Bytes(), nil
}

// SignArmored writes an ASCII-armored detached signature of r to w (repomd.xml.asc).
func (s *Signer) SignArmored(w io.Writer, r io.Reader) error {
	if len(s.also) > 0 {
		sig, err := s.signAll(r)
		if err != nil {
			return err
		}
		return armorSignature(w, sig)
	}
	cfg, err := s.config()
	if err != nil {
		return err
	}
	if err := openpgp.ArmoredDetachSign(w, s.entity, r, cfg); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

// CheckDetached checks that sig, a binary detached signature of at most MaxSignatureSize
// bytes, is s's key's signature of signed (with several keys, Join: holds one by each). A
// signature by another key is an error that wraps ErrUnknownIssuer.
func (s *Signer) CheckDetached(signed io.Reader, sig []byte) error {
	if len(sig) > MaxSignatureSize {
		return fmt.Errorf("signature of %d bytes is larger than %d, the limit for a signature", len(sig), MaxSignatureSize)
	}
	if len(s.also) > 0 {
		return s.checkAll(signed, sig)
	}
	_, err := openpgp.CheckDetachedSignature(openpgp.EntityList{s.entity}, signed, bytes.NewReader(sig), nil)
	return err
}

// Issuer is the key id that made the binary OpenPGP signature sig, for messages.
func Issuer(sig []byte) string {
	if len(sig) > MaxSignatureSize {
		return "(unreadable)"
	}
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return "(unreadable)"
	}
	if s, ok := p.(*packet.Signature); ok && s.IssuerKeyId != nil {
		return fmt.Sprintf("%016x", *s.IssuerKeyId)
	}
	return "(unknown)"
}

// PublicKeyArmored is the public key as `gpg --export --armor` writes it: the file that
// rpm --import and a .repo file's gpgkey= take. With several keys (Join), all of them in
// one armored block, as gpg --export --armor OLD NEW writes them; dnf imports each.
func (s *Signer) PublicKeyArmored() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range s.Keys() {
		if err := k.entity.Serialize(w); err != nil {
			return nil, fmt.Errorf("export public key: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// KeyID is the primary key's 16-hex-digit key id, as rpm -qi of the imported key shows it.
func (s *Signer) KeyID() string { return keyID(s.entity.PrimaryKey) }

// SigningKeyID is the key id of the (sub)key that signs, the one rpm -K names.
func (s *Signer) SigningKeyID() string { return keyID(s.key.PublicKey) }

func keyID(k *packet.PublicKey) string { return fmt.Sprintf("%016x", k.KeyId) }

func fingerprint(k *packet.PublicKey) string { return fmt.Sprintf("%X", k.Fingerprint) }
