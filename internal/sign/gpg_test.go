package sign

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
)

// gpgPast is when the keys made "in the past" were made (gpg --faked-system-time).
var gpgPast = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// gpgExtended is when the key "extended" got a new expiry date.
var gpgExtended = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

const gpgPassphrase = "s3cret"

// gpgKey is a key made by the real gpg, as a vendor makes one elsewhere.
type gpgKey struct {
	secret []byte // gpg --export-secret-keys --armor
	public []byte // gpg --export --armor
	fpr    string
}

var (
	gpgOnce sync.Once
	gpgKeys map[string]gpgKey
	gpgErr  error
)

// gpgTestKeys makes, once per test run, the keys the tests need with the real gpg in a
// temporary GNUPGHOME (Ed25519 and Curve25519: made in milliseconds):
//
//	good            sign+certify primary key, made now
//	subkey          certify-only primary key and a signing subkey, made now
//	expired         sign+certify, made at gpgPast, valid for a day
//	expired-subkey  certify-only primary key (no expiry), signing subkey valid for a day, gpgPast
//	revoked         sign+certify, made now, revoked with the certificate gpg made for it
//	revoked-subkey  certify-only primary key and a signing subkey that gpg --edit-key revoked
//	stub            like subkey, but the signing subkey's secret deleted: gpg exports a stub
//	no-signing      certify-only primary key and an encrypt-only subkey
//	encrypted       sign+certify, protected by gpgPassphrase
//	extended        sign+certify made at gpgPast with a year, extended by 10y at gpgExtended
func gpgTestKeys(t testing.TB) map[string]gpgKey {
	t.Helper()
	testutil.RequireTool(t, "gpg")
	gpgOnce.Do(func() { gpgKeys, gpgErr = makeGPGKeys() })
	if gpgErr != nil {
		t.Fatal(gpgErr)
	}
	return gpgKeys
}

func makeGPGKeys() (map[string]gpgKey, error) {
	home, err := os.MkdirTemp("", "hotchain-gpg-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	// The agent protects a secret key with an S2K count calibrated to 100 ms, which takes
	// seconds on a busy machine; the protection's strength is of no matter here.
	if err := os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600); err != nil {
		return nil, err
	}
	defer exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
	var firstErr error
	var stdin string // for the next gpg call only
	gpg := func(at time.Time, pass string, args ...string) string {
		a := []string{"--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", pass}
		if stdin != "" {
			a = append(a, "--command-fd", "0")
		}
		if !at.IsZero() {
			a = append(a, "--faked-system-time", at.UTC().Format("20060102T150405")+"!")
		}
		cmd := exec.Command("gpg", append(a, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdin = strings.NewReader(stdin)
		stdin = ""
		out, err := cmd.Output()
		if err != nil && firstErr == nil {
			firstErr = &gpgError{args, err, stderr.String()}
		}
		return string(out)
	}
	fpr := func(uid string) string {
		for _, l := range strings.Split(gpg(time.Time{}, "", "--with-colons", "--list-keys", uid), "\n") {
			if f := strings.Split(l, ":"); f[0] == "fpr" && len(f) > 9 {
				return f[9]
			}
		}
		return ""
	}
	uid := func(name string) string { return name + " <" + name + "@example.com>" }
	var now time.Time
	gen := func(name string, at time.Time, pass, algo, usage, expire string) string {
		gpg(at, pass, "--quick-gen-key", uid(name), algo, usage, expire)
		return fpr(uid(name))
	}
	gen("good", now, "", "ed25519", "sign,cert", "never")
	f := gen("subkey", now, "", "ed25519", "cert", "never")
	gpg(now, "", "--quick-add-key", f, "ed25519", "sign", "never")
	gen("expired", gpgPast, "", "ed25519", "sign,cert", "1d")
	f = gen("expired-subkey", gpgPast, "", "ed25519", "cert", "never")
	gpg(gpgPast, "", "--quick-add-key", f, "ed25519", "sign", "1d")
	f = gen("revoked", now, "", "ed25519", "sign,cert", "never")
	if f != "" {
		// gpg writes a revocation certificate for every key it makes, with a colon before
		// the armor so that it is not imported by mistake.
		rev, err := os.ReadFile(filepath.Join(home, "openpgp-revocs.d", f+".rev"))
		if err != nil {
			return nil, err
		}
		rev = bytes.Replace(rev, []byte(":-----BEGIN PGP PUBLIC KEY BLOCK-----"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"), 1)
		p := filepath.Join(home, "revoke.asc")
		if err := os.WriteFile(p, rev, 0o600); err != nil {
			return nil, err
		}
		gpg(now, "", "--import", p)
	}
	f = gen("revoked-subkey", now, "", "ed25519", "cert", "never")
	gpg(now, "", "--quick-add-key", f, "ed25519", "sign", "never")
	// gpg --edit-key's dialogue: select subkey 1, revoke it (reason 0, no text), save.
	stdin = "key 1\nrevkey\ny\n0\n\ny\nsave\n"
	gpg(now, "", "--edit-key", f)
	f = gen("stub", now, "", "ed25519", "cert", "never")
	gpg(now, "", "--quick-add-key", f, "ed25519", "sign", "never")
	if ring, err := parseKeyRing([]byte(gpg(now, "", "--export", f))); err == nil && len(ring) == 1 && len(ring[0].Subkeys) == 1 {
		gpg(now, "", "--yes", "--delete-secret-keys", fingerprint(ring[0].Subkeys[0].PublicKey)+"!")
	}
	f = gen("no-signing", now, "", "ed25519", "cert", "never")
	gpg(now, "", "--quick-add-key", f, "cv25519", "encr", "never")
	gen("encrypted", now, gpgPassphrase, "ed25519", "sign,cert", "never")
	f = gen("extended", gpgPast, "", "ed25519", "sign,cert", "1y")
	gpg(gpgExtended, "", "--quick-set-expire", f, "10y")

	keys := map[string]gpgKey{}
	for _, name := range []string{"good", "subkey", "expired", "expired-subkey", "revoked", "revoked-subkey", "stub", "no-signing", "encrypted", "extended"} {
		f := fpr(uid(name))
		pass := ""
		if name == "encrypted" {
			pass = gpgPassphrase
		}
		keys[name] = gpgKey{
			secret: []byte(gpg(time.Time{}, pass, "--export-secret-keys", "--armor", f)),
			public: []byte(gpg(time.Time{}, "", "--export", "--armor", f)),
			fpr:    f,
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return keys, nil
}

type gpgError struct {
	args   []string
	err    error
	stderr string
}

func (e *gpgError) Error() string {
	return "gpg " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}
