package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/rollout"
	"github.com/hotchain/hotchain/internal/sign"
)

// newKeyFiles writes a second vendor key, as hotchain keygen would: PREFIX.asc and
// PREFIX.pub.asc.
func newKeyFiles(t *testing.T, dir string) (secret, public string) {
	t.Helper()
	s, err := sign.GenerateKey("Shop Hotfixes 2027", "hotfixes@shop.example", sign.Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := s.SecretKeyArmored()
	pub, _ := s.PublicKeyArmored()
	secret, public = filepath.Join(dir, "new.asc"), filepath.Join(dir, "new.pub.asc")
	os.WriteFile(secret, sec, 0o600)
	os.WriteFile(public, pub, 0o644)
	return secret, public
}

// During a key rotation the policy is signed by the old and the new key: a host that has
// either key accepts it, one with a third key does not.
func TestPolicyCommandSignsWithBothKeys(t *testing.T) {
	dir, oldKey := vendorRepo(t)
	newKey, newPub := newKeyFiles(t, t.TempDir())
	if code, _, errs := runCLI("policy", "-sign-key", oldKey+","+newKey, dir); code != 0 {
		t.Fatalf("policy with two keys: exit %d: %s", code, errs)
	}
	data, _ := os.ReadFile(filepath.Join(dir, rollout.FileName))
	sig, _ := os.ReadFile(filepath.Join(dir, rollout.SigName))
	oldPub, _ := os.ReadFile(filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix"))
	newPubData, _ := os.ReadFile(newPub)
	_, otherPub := newKeyFiles(t, t.TempDir())
	otherData, _ := os.ReadFile(otherPub)
	for name, tc := range map[string]struct {
		pub []byte
		ok  bool
	}{"old": {oldPub, true}, "new": {newPubData, true}, "other": {otherData, false}} {
		var ring sign.Keyring
		if err := ring.Add(tc.pub, name); err != nil {
			t.Fatal(err)
		}
		err := ring.CheckArmoredDetached(data, sig, time.Now())
		if (err == nil) != tc.ok {
			t.Errorf("host with the %s key: err = %v, want ok=%v", name, err, tc.ok)
		}
	}
}

// A package is signed with one key: dnf refuses one with a signature whose key the host
// lacks, even next to a good one.
func TestBuildRefusesAKeyList(t *testing.T) {
	for _, cmd := range [][]string{
		{"build", "-product", "shop", "-sign-key", "old.asc,new.asc", "-out", t.TempDir(), t.TempDir()},
		{"build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", "https://u.example/shop", "-sign-key", "old.asc,new.asc", "-out", t.TempDir()},
	} {
		code, _, errs := runCLI(cmd...)
		if code == 0 || !strings.Contains(errs, "a package is signed with one key") || !strings.Contains(errs, "hint:") {
			t.Errorf("%s -sign-key old.asc,new.asc: exit %d\n%s", cmd[0], code, errs)
		}
	}
}

// build-base -gpg-key refuses a key set that leaves out the key that signs the package.
func TestBuildBaseGPGKeyMustHoldTheSigner(t *testing.T) {
	_, oldKey := vendorRepo(t)
	_, newPub := newKeyFiles(t, t.TempDir())
	code, _, errs := runCLI("build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", "https://u.example/shop",
		"-sign-key", oldKey, "-gpg-key", newPub, "-out", t.TempDir())
	if code == 0 || !strings.Contains(errs, "is not among the keys to ship") {
		t.Errorf("exit %d\n%s", code, errs)
	}
}
