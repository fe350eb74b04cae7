package sign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeysThatCannotSign loads keys made by the real gpg that cannot sign, and checks that
// each error says which key, what is wrong and what to do.
func TestKeysThatCannotSign(t *testing.T) {
	keys := gpgTestKeys(t)
	sub := func(name string) string { return subkeyFingerprint(t, keys[name].secret) }
	for _, tc := range []struct {
		key      string
		public   bool   // load the public key instead of the secret one
		pass     string // the passphrase given
		err      []string
		hint     []string
		typedErr bool      // a *KeyError
		now      time.Time // when the key is checked; zero is now
	}{
		{key: "good"},
		{key: "subkey"},
		{key: "encrypted", pass: gpgPassphrase},
		{key: "extended"},
		{key: "expired", typedErr: true,
			err:  []string{"signing key KEY.asc (", "cannot sign: it expired on 2024-01-02 00:00:00 UTC"},
			hint: []string{"gpg --quick-set-expire " + keys["expired"].fpr + " 2y", "gpg --export-secret-keys --armor " + keys["expired"].fpr, "rpm --import"}},
		{key: "expired-subkey", typedErr: true,
			err:  []string{"cannot sign: its signing subkey expired on 2024-01-02 00:00:00 UTC"},
			hint: []string{"gpg --quick-set-expire " + keys["expired-subkey"].fpr + " 2y " + sub("expired-subkey")}},
		{key: "revoked", typedErr: true,
			err:  []string{"cannot sign: it was revoked on "},
			hint: []string{"a revoked key must never sign again", "hotchain keygen"}},
		{key: "revoked-subkey", typedErr: true,
			err:  []string{"cannot sign: its signing subkey was revoked on "},
			hint: []string{"gpg --quick-add-key " + keys["revoked-subkey"].fpr + " ed25519 sign 2y"}},
		{key: "stub", typedErr: true,
			err:  []string{"cannot sign: the file does not hold the secret of its signing key (a gpg stub"},
			hint: []string{"gpg --export-secret-subkeys --armor " + sub("stub") + "!"}},
		{key: "no-signing", typedErr: true,
			err:  []string{"cannot sign: neither its primary key (certify only) nor a subkey may sign (subkey ", ": encrypt only)"},
			hint: []string{"gpg --quick-add-key " + keys["no-signing"].fpr + " ed25519 sign 2y"}},
		{key: "encrypted", typedErr: true,
			err:  []string{"cannot sign: its secret is protected by a passphrase, and $HOTCHAIN_KEY_PASSPHRASE is empty"},
			hint: []string{"set HOTCHAIN_KEY_PASSPHRASE", "gpg --passwd " + keys["encrypted"].fpr}},
		{key: "encrypted", pass: "wrong", typedErr: true,
			err:  []string{"cannot sign: the passphrase in $HOTCHAIN_KEY_PASSPHRASE does not unlock it"},
			hint: []string{"set HOTCHAIN_KEY_PASSPHRASE to the passphrase the key was exported with"}},
		{key: "good", public: true,
			err:  []string{"signing key KEY.asc holds only public keys"},
			hint: []string{"gpg --export-secret-keys --armor"}},
		{key: "good", now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), typedErr: true,
			err:  []string{"cannot sign: it was made (or last changed) on ", ", after 2020-01-01 00:00:00 UTC"},
			hint: []string{"check the clock"}},
	} {
		name := tc.key
		if !tc.now.IsZero() {
			name += "/clock=2020"
		}
		if tc.public {
			name += "/public"
		}
		if tc.pass != "" {
			name += "/pass=" + tc.pass
		}
		t.Run(name, func(t *testing.T) {
			data := keys[tc.key].secret
			if tc.public {
				data = keys[tc.key].public
			}
			now := tc.now
			if now.IsZero() {
				now = time.Now()
			}
			s, err := ParseSigner(data, "KEY.asc", tc.pass, now)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("want a signer, got %v", err)
				}
				if _, err := s.Sign([]byte("data")); err != nil {
					t.Fatalf("sign: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("the key loads; want an error")
			}
			for _, w := range tc.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			var h interface{ Hint() string }
			if !errors.As(err, &h) {
				t.Fatalf("error %q has no hint", err)
			}
			for _, w := range tc.hint {
				if !strings.Contains(h.Hint(), w) {
					t.Errorf("hint %q\nlacks %q", h.Hint(), w)
				}
			}
			var ke *KeyError
			if errors.As(err, &ke) != tc.typedErr {
				t.Errorf("error %T, *KeyError %v", err, tc.typedErr)
			}
		})
	}
}

// subkeyFingerprint is the fingerprint of the first subkey of an armored key.
func subkeyFingerprint(t *testing.T, key []byte) string {
	t.Helper()
	ring, err := parseKeyRing(key)
	if err != nil || len(ring) == 0 || len(ring[0].Subkeys) == 0 {
		t.Fatalf("no subkey: %v", err)
	}
	return fingerprint(ring[0].Subkeys[0].PublicKey)
}

// TestSignatureTime checks the one rule for signature times with keys gpg made: the
// output's date when the key is valid then, else the moment it became valid; an error
// when it is expired by then.
func TestSignatureTime(t *testing.T) {
	keys := gpgTestKeys(t)
	load := func(name string, now time.Time) *Signer {
		s, err := ParseSigner(keys[name].secret, name+".asc", "", now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := load("good", time.Now())
	made := good.entity.PrimaryKey.CreationTime
	sub := load("subkey", time.Now())
	subMade := sub.key.PublicKey.CreationTime
	for _, tc := range []struct {
		name string
		s    *Signer
		when time.Time
		want time.Time
		err  string
	}{
		{"after the key was made", good, made.Add(time.Hour), made.Add(time.Hour), ""},
		{"a week before the key was made", good, made.AddDate(0, 0, -7), made, ""},
		{"before the signing subkey was made", sub, subMade.AddDate(0, 0, -7), subMade, ""},
		// The old rule (the newest key creation time) gave when here: the key was made
		// before it, but its self-signature in force, the one with the new expiry date,
		// was made after it.
		{"before the expiry was extended", load("extended", time.Now()), gpgPast.AddDate(0, 0, 30), gpgExtended, ""},
		{"after the key expired", load("expired", gpgPast.Add(time.Hour)), gpgPast.AddDate(0, 0, 2), time.Time{}, "it expired on 2024-01-02"},
		{"after the signing subkey expired", load("expired-subkey", gpgPast.Add(time.Hour)), gpgPast.AddDate(0, 0, 2), time.Time{}, "its signing subkey expired on 2024-01-02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.SignatureTime(tc.when)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("SignatureTime: %v, want an error with %q", err, tc.err)
				}
				if _, err := tc.s.At(tc.when).Sign([]byte("x")); err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("Sign: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("SignatureTime(%v) = %v, want %v", tc.when, got, tc.want)
			}
		})
	}
}

// TestSignaturesCheckWithGPG signs output dated before the key (or its signing subkey, or
// its new expiry date) and checks the signature with the real gpg.
func TestSignaturesCheckWithGPG(t *testing.T) {
	keys := gpgTestKeys(t)
	for _, name := range []string{"good", "subkey", "extended"} {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSigner(keys[name].secret, name+".asc", "", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			data := []byte("<repomd/>\n")
			var sig bytes.Buffer
			if err := s.At(gpgPast.AddDate(0, 0, 30)).SignArmored(&sig, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			write := func(n string, b []byte) string {
				p := filepath.Join(dir, n)
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			gpgVerify(t, keys[name].public, write("repomd.xml.asc", sig.Bytes()), write("repomd.xml", data))
		})
	}
}

// gpgVerify runs gpg --verify in a GNUPGHOME of its own that holds only pub.
func gpgVerify(t *testing.T, pub []byte, sig, data string) {
	t.Helper()
	home := t.TempDir()
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	key := filepath.Join(home, "pub.asc")
	if err := os.WriteFile(key, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gpg", "--homedir", home, "--batch", "--import", key).CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	if out, err := exec.Command("gpg", "--homedir", home, "--batch", "--verify", sig, data).CombinedOutput(); err != nil {
		t.Fatalf("gpg --verify: %v\n%s", err, out)
	}
}
