package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/sign"
)

// A key rotation: the repository signed by the old key, then by the old and the new (the
// overlap: packages signed by either are listed, and the new key file holds both), then by
// the new key alone, which reads every package again and refuses one still signed with the
// old key instead of reusing its entry.
func TestRotationRefusesTheRetiredKeysPackages(t *testing.T) {
	old, nw := testKeys(t)
	dir := buildRepoDir(t, old, pkgBase, pkgFix1)
	o := testOptions(dir)
	o.Signer = old
	mustBuild(t, o)

	both, err := sign.Join(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	pkgFix2.build(t, dir, nw)
	var log bytes.Buffer
	o.Signer, o.Log = both, &log
	if res := mustBuild(t, o); res.Reused != 0 || !strings.Contains(log.String(), "the signing keys changed") {
		t.Errorf("overlap run reused %d entries; log:\n%s", res.Reused, log.String())
	}
	keys, _ := os.ReadFile(filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix"))
	var ring sign.Keyring
	if err := ring.Add(keys, "key file"); err != nil || ring.Len() != 2 {
		t.Errorf("key file of the overlap: %d keys, %v", ring.Len(), err)
	}
	// The same keys again: entries are reused.
	log.Reset()
	if res := mustBuild(t, o); res.Reused != 3 {
		t.Errorf("second overlap run reused %d entries, want 3; log:\n%s", res.Reused, log.String())
	}

	o.Signer = nw
	_, err = build(t, o)
	if err == nil || !strings.Contains(err.Error(), "not with the repository key "+nw.SigningKeyID()) {
		t.Fatalf("new key alone over packages of the old key: %v", err)
	}
}
