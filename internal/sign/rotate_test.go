package sign

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func rotationKeys(t *testing.T) (old, nw, other *Signer) {
	t.Helper()
	now := time.Now().Add(-time.Hour)
	var ks [3]*Signer
	for i, name := range []string{"old", "new", "other"} {
		s, err := GenerateKey("Shop "+name, name+"@shop.example", Ed25519, now)
		if err != nil {
			t.Fatal(err)
		}
		ks[i] = s
	}
	return ks[0], ks[1], ks[2]
}

func pubOf(t *testing.T, s *Signer) []byte {
	t.Helper()
	pub, err := s.PublicKeyArmored()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// A signature by the joined old and new key verifies on a host that trusts either key,
// and not on one that trusts neither; a signature by the old key alone does not verify
// with the new key.
func TestJoinedSignatureVerifiesWithEitherKey(t *testing.T) {
	old, nw, other := rotationKeys(t)
	both, err := Join(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	signed := []byte("<repomd/>\n")
	sig := func(s *Signer) []byte {
		var b bytes.Buffer
		if err := s.SignArmored(&b, bytes.NewReader(signed)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	bothSig, oldSig := sig(both), sig(old)
	for _, tc := range []struct {
		name    string
		sig     []byte
		trusted []*Signer
		ok      bool
	}{
		{"both keys, host has old", bothSig, []*Signer{old}, true},
		{"both keys, host has new", bothSig, []*Signer{nw}, true},
		{"both keys, host has both", bothSig, []*Signer{nw, old}, true},
		{"both keys, host has another", bothSig, []*Signer{other}, false},
		{"old key, host has new", oldSig, []*Signer{nw}, false},
		{"old key, host has old", oldSig, []*Signer{old}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ring Keyring
			for _, k := range tc.trusted {
				if err := ring.Add(pubOf(t, k), "key"); err != nil {
					t.Fatal(err)
				}
			}
			err := ring.CheckArmoredDetached(signed, tc.sig, time.Now())
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrUnknownIssuer) {
				t.Fatalf("err = %v, want an unknown issuer", err)
			}
		})
	}
	if got := strings.Count(string(bothSig), "BEGIN PGP SIGNATURE"); got != 1 {
		t.Errorf("the joined signature has %d armored blocks, want 1", got)
	}
}

// CheckDetached of a joined signer wants a signature by each key; Issuers names them.
func TestJoinedCheckAndIssuers(t *testing.T) {
	old, nw, _ := rotationKeys(t)
	both, err := Join(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("header")
	oneSig, err := old.Sign(data)
	if err != nil {
		t.Fatal(err)
	}
	newSig, err := nw.Sign(data)
	if err != nil {
		t.Fatal(err)
	}
	bothSig := append(append([]byte(nil), oneSig...), newSig...)
	if err := both.CheckDetached(bytes.NewReader(data), bothSig); err != nil {
		t.Errorf("both signatures: %v", err)
	}
	if err := both.CheckDetached(bytes.NewReader(data), oneSig); err == nil || !strings.Contains(err.Error(), nw.SigningKeyID()) {
		t.Errorf("the old key's signature alone: err = %v, want one naming the new key", err)
	}
	if got, want := Issuers(bothSig), old.SigningKeyID()+","+nw.SigningKeyID(); got != want || both.KeyIDs() != want {
		t.Errorf("Issuers = %q, KeyIDs = %q, want %q", got, both.KeyIDs(), want)
	}
	if got := Issuers(append(bothSig, oneSig...)); got != "(unreadable)" {
		t.Errorf("Issuers of three signatures = %q", got)
	}
	if got := Issuers([]byte("junk")); got != "(unreadable)" {
		t.Errorf("Issuers of junk = %q", got)
	}
	// The joined key file holds both public keys.
	var ring Keyring
	if err := ring.Add(pubOf(t, both), "both"); err != nil || ring.Len() != 2 {
		t.Errorf("joined public key file: %d keys, %v", ring.Len(), err)
	}
}

func TestJoinRefuses(t *testing.T) {
	old, nw, other := rotationKeys(t)
	for _, tc := range []struct {
		name string
		keys []*Signer
		want string
	}{
		{"none", nil, "no signing key"},
		{"three", []*Signer{old, nw, other}, "at most 2"},
		{"twice", []*Signer{old, old}, "are the same key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Join(tc.keys...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestShippedKeys(t *testing.T) {
	old, nw, _ := rotationKeys(t)
	files := [][]byte{pubOf(t, nw), pubOf(t, old)}
	paths := []string{"new.pub.asc", "old.pub.asc"}
	out, err := ShippedKeys(files, paths, old)
	if err != nil {
		t.Fatal(err)
	}
	var ring Keyring
	if err := ring.Add(out, "shipped"); err != nil || ring.Len() != 2 {
		t.Fatalf("shipped key file: %d keys, %v", ring.Len(), err)
	}
	if ring.list[0].PrimaryKey.KeyId != nw.entity.PrimaryKey.KeyId {
		t.Errorf("the first key shipped is not the first -gpg-key")
	}
	for _, tc := range []struct {
		name  string
		files [][]byte
		paths []string
		want  string
	}{
		{"signer not shipped", files[:1], paths[:1], "is not among the keys to ship"},
		{"twice", [][]byte{files[1], files[1]}, []string{"a", "b"}, "hold the same key"},
		{"not a key", [][]byte{[]byte("hello")}, []string{"x"}, "key file x is not an OpenPGP public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ShippedKeys(tc.files, tc.paths, old)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
