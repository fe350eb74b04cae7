package sign

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hotchain/hotchain/internal/hint"
)

// MaxKeys is how many keys sign repomd.xml and the rollout policy at once: the old and the
// new key of a rotation.
const MaxKeys = 2

// Join makes one Signer of several keys, in order: the detached signatures it makes
// (SignArmored: repomd.xml.asc, rollout.json.asc) hold one signature by each key, which
// dnf (librepo, gpgme) and Keyring accept when they know any one of the keys: a key
// rotation's overlap. Sign and SignReader sign with the first key only: dnf refuses an RPM
// with any signature whose key the host lacks (rpmkeys --checksig reports NOKEY), so
// packages carry one signature. Output is dated by the first Signer's Time.
func Join(keys ...*Signer) (*Signer, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no signing key")
	}
	if len(keys) > MaxKeys {
		return nil, hint.With(fmt.Errorf("%d signing keys: at most %d sign at once (the old and the new key of a rotation)", len(keys), MaxKeys),
			"pass the old and the new key only")
	}
	seen := map[uint64]string{}
	for _, k := range keys {
		if len(k.also) > 0 {
			return nil, fmt.Errorf("signing key %s is already a list of keys", k.path)
		}
		id := k.entity.PrimaryKey.KeyId
		if p, ok := seen[id]; ok {
			return nil, hint.With(fmt.Errorf("signing keys %s and %s are the same key %016x", p, k.path, id),
				"pass each key once")
		}
		seen[id] = k.path
	}
	first := *keys[0]
	first.also = append([]*Signer(nil), keys[1:]...)
	return &first, nil
}

// LoadSigners is LoadSigner for each file of a comma-separated list ("old.asc,new.asc"),
// joined in that order (Join).
func LoadSigners(list string) (*Signer, error) {
	var keys []*Signer
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, hint.With(fmt.Errorf("signing key list %q has an empty entry", list),
				"separate key files with commas: -sign-key old.asc,new.asc")
		}
		s, err := LoadSigner(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, s)
	}
	return Join(keys...)
}

// Keys is each key of s on its own, in order: one element unless s was made by Join. With
// several keys, each is dated at s's SignatureTime, so that all signatures of a run carry
// the same time.
func (s *Signer) Keys() []*Signer {
	first := *s
	first.also = nil
	out := []*Signer{&first}
	if len(s.also) == 0 {
		return out
	}
	when := s.Time
	if t, err := s.SignatureTime(s.Time); err == nil {
		when = t
	}
	first.Time = when
	for _, k := range s.also {
		c := *k
		c.Time = when
		out = append(out, &c)
	}
	return out
}

// KeyIDs is the signing key ids of s's keys, comma-separated, for messages.
func (s *Signer) KeyIDs() string {
	var ids []string
	for _, k := range s.Keys() {
		ids = append(ids, k.SigningKeyID())
	}
	return strings.Join(ids, ",")
}

// signAll is the binary signature packets of every key of s over what r holds, one after
// the other: a detached signature that gpg, gpgme and go-crypto accept when they know any
// one of the keys.
func (s *Signer) signAll(r io.Reader) ([]byte, error) {
	keys := s.Keys()
	if len(keys) == 1 {
		return s.SignReader(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxJoinedSigned+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJoinedSigned {
		return nil, fmt.Errorf("sign: %d bytes or more to sign with several keys, the limit is %d", len(data), maxJoinedSigned)
	}
	var out []byte
	for _, k := range keys {
		sig, err := k.Sign(data)
		if err != nil {
			return nil, err
		}
		out = append(out, sig...)
	}
	return out, nil
}

// maxJoinedSigned bounds what several keys sign from one reader (held in memory once):
// repomd.xml and the rollout policy, both far smaller.
const maxJoinedSigned = 64 << 20

// checkAll checks that sig holds a good signature of signed by every key of s.
func (s *Signer) checkAll(signed io.Reader, sig []byte) error {
	data, err := io.ReadAll(io.LimitReader(signed, maxJoinedSigned+1))
	if err != nil {
		return err
	}
	for _, k := range s.Keys() {
		if _, err := openpgp.CheckDetachedSignature(openpgp.EntityList{k.entity}, bytes.NewReader(data), bytes.NewReader(sig), nil); err != nil {
			return fmt.Errorf("key %s: %w", k.SigningKeyID(), err)
		}
	}
	return nil
}

// armorSignature armors binary signature packets as gpg --armor --detach-sign does.
func armorSignature(w io.Writer, sig []byte) error {
	aw, err := armor.Encode(w, openpgp.SignatureType, nil)
	if err != nil {
		return err
	}
	if _, err := aw.Write(sig); err != nil {
		return err
	}
	return aw.Close()
}

// single is s without the keys joined to it.
func (s *Signer) single() *Signer {
	c := *s
	c.also = nil
	return &c
}

// ShippedKeys is the armored key file that the base RPM installs for the .repo file's
// gpgkey=: the public keys of files (each read with ReadKeyFile), in order, in one armored
// block, as gpg --export --armor NEW OLD writes it. dnf imports every key of it into the
// rpm database when a package needs one, and the agent checks the rollout policy with any
// of them. The key that signs the base RPM must be one of them: the hosts that install it
// trust what it signs next.
func ShippedKeys(files [][]byte, paths []string, signer *Signer) ([]byte, error) {
	var all openpgp.EntityList
	seen := map[uint64]string{}
	for i, data := range files {
		ring, err := parseKeyRing(data)
		if err != nil {
			return nil, hint.With(fmt.Errorf("key file %s is not an OpenPGP public key: %w", paths[i], err),
				"export the public key with gpg --export --armor KEYID > KEY.pub.asc, or take hotchain keygen's PREFIX.pub.asc")
		}
		for _, e := range ring {
			if p, ok := seen[e.PrimaryKey.KeyId]; ok {
				return nil, hint.With(fmt.Errorf("key files %s and %s hold the same key %016x", p, paths[i], e.PrimaryKey.KeyId),
					"pass each key once")
			}
			seen[e.PrimaryKey.KeyId] = paths[i]
			all = append(all, e)
		}
	}
	if signer != nil {
		if _, ok := seen[signer.entity.PrimaryKey.KeyId]; !ok {
			return nil, hint.With(fmt.Errorf("the signing key %s (%s) is not among the keys to ship (%s)", signer.path, signer.KeyID(), strings.Join(paths, ", ")),
				"add its public key with another -gpg-key, or sign with one of the keys shipped")
		}
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if err := e.Serialize(w); err != nil {
			return nil, fmt.Errorf("export public key: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Issuers is the key ids that made the binary OpenPGP signatures in sig, in order and
// comma-separated, for messages and to compare with KeyIDs; "(unreadable)" for what is no
// list of signatures of at most MaxSignatureSize bytes.
func Issuers(sig []byte) string {
	if len(sig) > MaxSignatureSize {
		return "(unreadable)"
	}
	var ids []string
	r := packet.NewReader(bytes.NewReader(sig))
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		s, ok := p.(*packet.Signature)
		if err != nil || !ok || s.IssuerKeyId == nil || len(ids) == MaxKeys {
			return "(unreadable)"
		}
		ids = append(ids, fmt.Sprintf("%016x", *s.IssuerKeyId))
	}
	return strings.Join(ids, ",")
}
