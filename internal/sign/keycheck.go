package sign

import (
	"fmt"
	"sort"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// KeyError says why an OpenPGP key cannot sign, and what to do about it.
type KeyError struct {
	Path   string // the key file; "" for a key made in this run
	KeyID  string // the key (or subkey) at fault
	Reason string
	hint   string
}

func (e *KeyError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("signing key %s cannot sign: %s", e.KeyID, e.Reason)
	}
	return fmt.Sprintf("signing key %s (%s) cannot sign: %s", e.Path, e.KeyID, e.Reason)
}

// Hint is the next step, for the CLI's hint: line.
func (e *KeyError) Hint() string { return e.hint }

// SignatureTime is the creation time of every OpenPGP signature s makes for output dated
// when (SOURCE_DATE_EPOCH, or the time of the run; zero means now): when itself if s's
// signing key is valid then, else the first moment after when from which it is, that is
// when the key, its signing subkey or the self-signature that makes them valid (a new
// expiry date, say) was made. A signature older than its key is invalid: go-crypto refuses
// to make it and rpm to accept it. The result depends on the key and when alone, so
// signed output stays reproducible. A key that is not valid at any time from when on
// (expired or revoked before it) is a *KeyError.
func (s *Signer) SignatureTime(when time.Time) (time.Time, error) {
	if len(s.also) > 0 {
		// Several keys (Join): the first time from which all of them can sign.
		for range MaxKeys + 1 {
			latest := when
			for _, k := range append([]*Signer{s.single()}, s.also...) {
				t, err := k.SignatureTime(when)
				if err != nil {
					return time.Time{}, err
				}
				if t.After(latest) {
					latest = t
				}
			}
			if latest.Equal(when) {
				return when, nil
			}
			when = latest
		}
		return time.Time{}, fmt.Errorf("signing keys %s have no common time from which all of them can sign", s.KeyIDs())
	}
	if when.IsZero() {
		when = time.Now()
	}
	when = when.Truncate(time.Second)
	id := s.key.PublicKey.KeyId
	for _, t := range validityStarts(s.entity, when) {
		if _, ok := s.entity.SigningKeyById(t, id); ok {
			return t, nil
		}
	}
	return time.Time{}, diagnose(s.entity, id, s.path, latest(validityStarts(s.entity, when)))
}

// validityStarts is when and every later time at which a key packet or a self-signature of
// e was made, ascending: the only moments at which e's validity can begin.
func validityStarts(e *openpgp.Entity, when time.Time) []time.Time {
	ts := []time.Time{when}
	add := func(t time.Time) {
		if t.After(when) {
			ts = append(ts, t.Truncate(time.Second))
		}
	}
	add(e.PrimaryKey.CreationTime)
	if e.SelfSignature != nil {
		add(e.SelfSignature.CreationTime)
	}
	for _, sig := range e.Signatures {
		add(sig.CreationTime)
	}
	for _, id := range e.Identities {
		if id.SelfSignature != nil {
			add(id.SelfSignature.CreationTime)
		}
		for _, sig := range id.Signatures {
			add(sig.CreationTime)
		}
	}
	for _, sub := range e.Subkeys {
		add(sub.PublicKey.CreationTime)
		if sub.Sig != nil {
			add(sub.Sig.CreationTime)
		}
		if sub.Sig != nil && sub.Sig.EmbeddedSignature != nil {
			add(sub.Sig.EmbeddedSignature.CreationTime)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

func latest(ts []time.Time) time.Time { return ts[len(ts)-1] }

// signingKey is the (sub)key of e that signs at now, with its secret present, or a
// *KeyError that says why there is none.
func signingKey(e *openpgp.Entity, path string, now time.Time) (openpgp.Key, error) {
	now = now.Truncate(time.Second)
	key, ok := e.SigningKeyById(now, 0)
	if !ok {
		return key, diagnose(e, 0, path, now)
	}
	if key.PrivateKey == nil || key.PrivateKey.Dummy() {
		return key, &KeyError{Path: path, KeyID: keyID(key.PublicKey),
			Reason: "the file does not hold the secret of its signing key (a gpg stub: the key lives on a smartcard, or the file was exported with --export-secret-subkeys for another subkey)",
			hint:   "export the signing key's secret where it lives: gpg --export-secret-subkeys --armor " + fingerprint(key.PublicKey) + "! > KEY.asc"}
	}
	return key, nil
}

// diagnose says why e (its (sub)key id, or any signing key when id is 0) cannot sign at t.
func diagnose(e *openpgp.Entity, id uint64, path string, t time.Time) error {
	pk := e.PrimaryKey
	fpr := fingerprint(pk)
	ke := func(k *packet.PublicKey, reason, hint string) error {
		return &KeyError{Path: path, KeyID: keyID(k), Reason: reason, hint: hint}
	}
	const reexport = ", then export it again with gpg --export-secret-keys --armor "
	const newKey = "make a new key (hotchain keygen), give hosts its public key (rpm --import, or a new base RPM) and sign with it"
	self, ident := e.PrimarySelfSignature()
	switch {
	case self == nil:
		return ke(pk, "it has no valid self-signature binding a user ID to it", newKey)
	case e.Revoked(t):
		return ke(pk, "it was revoked"+revocation(e.Revocations), "a revoked key must never sign again: "+newKey)
	case ident != nil && ident.Revoked(t):
		return ke(pk, fmt.Sprintf("its user ID %q was revoked%s", ident.Name, revocation(ident.Revocations)),
			"add a user ID where the key was made (gpg --quick-add-uid "+fpr+" 'NAME <EMAIL>')"+reexport+fpr)
	case pk.CreationTime.After(t) || self.CreationTime.After(t):
		return ke(pk, "it was made (or last changed) on "+later(pk.CreationTime, self.CreationTime)+", after "+t.UTC().Format(stamp),
			"check the clock of this machine and of the one that made the key")
	case pk.KeyExpired(self, t):
		return ke(pk, "it expired on "+expiry(pk, self),
			"extend it where it was made: gpg --quick-set-expire "+fpr+" 2y"+reexport+fpr+", and give hosts the new public key (rpm --import)")
	case self.SigExpired(t):
		return ke(pk, "the self-signature of its user ID expired", "renew it: gpg --quick-set-expire "+fpr+" 2y"+reexport+fpr)
	}
	// The primary key is fine: no subkey or primary key is allowed to sign.
	primarySigns := self.FlagsValid && self.FlagSign && pk.PubKeyAlgo.CanSign()
	if id != 0 && id != pk.KeyId {
		for _, sub := range e.Subkeys {
			if sub.PublicKey.KeyId == id {
				return subkeyProblem(sub, path, fpr, t)
			}
		}
	}
	var signing []openpgp.Subkey
	for _, sub := range e.Subkeys {
		if sub.Sig != nil && sub.Sig.FlagsValid && sub.Sig.FlagSign && sub.PublicKey.PubKeyAlgo.CanSign() {
			signing = append(signing, sub)
		}
	}
	if len(signing) > 0 && !primarySigns {
		// The newest signing subkey says best what is wrong.
		return subkeyProblem(signing[len(signing)-1], path, fpr, t)
	}
	if !primarySigns {
		return ke(pk, fmt.Sprintf("neither its primary key (%s) nor a subkey may sign (%s)", usage(self, pk), subkeyUsages(e)),
			"add a signing subkey where the key was made: gpg --quick-add-key "+fpr+" ed25519 sign 2y"+reexport+fpr+", and give hosts the new public key (rpm --import)")
	}
	return ke(pk, "go-crypto finds no valid signing key in it at "+t.UTC().Format(time.RFC3339), newKey)
}

func subkeyProblem(sub openpgp.Subkey, path, fpr string, t time.Time) error {
	sk := sub.PublicKey
	sfpr := fingerprint(sk)
	e := &KeyError{Path: path, KeyID: keyID(sk)}
	switch {
	case sub.Revoked(t):
		e.Reason = "its signing subkey was revoked" + revocation(sub.Revocations)
		e.hint = "add a new signing subkey where the key was made: gpg --quick-add-key " + fpr + " ed25519 sign 2y, then export it again with gpg --export-secret-keys --armor " + fpr + ", and give hosts the new public key (rpm --import)"
	case sk.CreationTime.After(t) || sub.Sig.CreationTime.After(t):
		e.Reason = "its signing subkey was made (or last changed) on " + later(sk.CreationTime, sub.Sig.CreationTime) + ", after " + t.UTC().Format(stamp)
		e.hint = "check the clock of this machine and of the one that made the key"
	case sk.KeyExpired(sub.Sig, t):
		e.Reason = "its signing subkey expired on " + expiry(sk, sub.Sig)
		e.hint = "extend it where the key was made: gpg --quick-set-expire " + fpr + " 2y " + sfpr + ", then export it again with gpg --export-secret-keys --armor " + fpr + ", and give hosts the new public key (rpm --import)"
	default:
		e.Reason = "its signing subkey is not valid at " + t.UTC().Format(time.RFC3339)
		e.hint = "add a new signing subkey: gpg --quick-add-key " + fpr + " ed25519 sign 2y, then export the key again"
	}
	return e
}

const stamp = "2006-01-02 15:04:05 UTC"

func later(a, b time.Time) string {
	if b.After(a) {
		a = b
	}
	return a.UTC().Format(stamp)
}

func expiry(k *packet.PublicKey, sig *packet.Signature) string {
	if sig == nil || sig.KeyLifetimeSecs == nil {
		return "(unknown)"
	}
	return k.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second).UTC().Format(stamp)
}

func revocation(sigs []*packet.Signature) string {
	if len(sigs) == 0 {
		return ""
	}
	r := sigs[0]
	s := " on " + r.CreationTime.UTC().Format(stamp)
	if r.RevocationReasonText != "" {
		s += fmt.Sprintf(" (%q)", r.RevocationReasonText)
	}
	return s
}

// usage is what a key may do, as gpg --list-keys shows it: S sign, C certify, E encrypt,
// A authenticate.
func usage(sig *packet.Signature, k *packet.PublicKey) string {
	if sig == nil || !sig.FlagsValid {
		return keyID(k) + ": no usage flags"
	}
	u := ""
	for _, f := range []struct {
		on bool
		c  string
	}{{sig.FlagSign, "sign"}, {sig.FlagCertify, "certify"}, {sig.FlagEncryptCommunications || sig.FlagEncryptStorage, "encrypt"}, {sig.FlagAuthenticate, "authenticate"}} {
		if f.on {
			if u != "" {
				u += "+"
			}
			u += f.c
		}
	}
	if u == "" {
		u = "nothing"
	}
	return u + " only"
}

func subkeyUsages(e *openpgp.Entity) string {
	if len(e.Subkeys) == 0 {
		return "it has no subkeys"
	}
	s := ""
	for i, sub := range e.Subkeys {
		if i > 0 {
			s += ", "
		}
		s += "subkey " + keyID(sub.PublicKey) + ": " + usage(sub.Sig, sub.PublicKey)
	}
	return s
}
