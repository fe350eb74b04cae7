package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/rollout"
	"github.com/hotchain/hotchain/internal/sign"
)

// vendorRepo is a repository directory of base 6.14.2 with two hotfix RPMs (names only:
// hotchain policy reads no package) and the repository's public key, and the secret key.
func vendorRepo(t *testing.T) (dir, key string) {
	t.Helper()
	s, err := testRepoSigner()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir = filepath.Join(root, "repo", "6.14.2")
	files := map[string][]byte{"repodata/repomd.xml": nil, "shop-hotfix-6_14_2_1-1-0.noarch.rpm": nil, "sub/shop-hotfix-6_14_2_2-1-0.noarch.rpm": nil}
	pub, _ := s.PublicKeyArmored()
	files["RPM-GPG-KEY-shop-hotfix"] = pub
	for n, d := range files {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sec, err := s.SecretKeyArmored()
	if err != nil {
		t.Fatal(err)
	}
	key = filepath.Join(root, "vendor.asc")
	if err := os.WriteFile(key, sec, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, key
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	e := &cli.Env{Stdout: &out, Stderr: &errb, Environ: []string{"PATH=" + os.Getenv("PATH")}}
	code := report(&errb, run(context.Background(), e, args))
	return code, out.String(), errb.String()
}

// readPolicyAsHost checks the signature with the repository's key and parses the policy,
// as an agent does.
func readPolicyAsHost(t *testing.T, dir string) *rollout.Policy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rollout.FileName))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(filepath.Join(dir, rollout.SigName))
	pub, _ := os.ReadFile(filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix"))
	var ring sign.Keyring
	if err := ring.Add(pub, "key"); err != nil {
		t.Fatal(err)
	}
	if err := ring.CheckArmoredDetached(data, sig, time.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	p, err := rollout.Parse(data, "rollout.json")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyCommand(t *testing.T) {
	dir, key := vendorRepo(t)
	v1, v2 := hotfix.Version{6, 14, 2, 1}, hotfix.Version{6, 14, 2, 2}
	before := time.Now().Add(-time.Second)
	code, stdout, stderr := runCLI("policy", "-sign-key", key, dir)
	if code != 0 || !strings.Contains(stdout, "6.14.2.1: published (share 100%)\n6.14.2.2: published (share 100%)\n") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	p := readPolicyAsHost(t, dir)
	published := p.Entry(v1).Published
	if p.Revision != 1 || published.Before(before.Truncate(time.Second)) || p.Entry(v2).Share != 100 ||
		p.Expires.Sub(p.Issued) != 14*24*time.Hour {
		t.Errorf("first policy %+v", p)
	}

	code, stdout, stderr = runCLI("policy", "-sign-key", key, "-expires", "36h", "-share", "6.14.2.2=25", "-halt", "6.14.2.1", dir)
	p = readPolicyAsHost(t, dir)
	if code != 0 || p.Revision != 2 || p.Entry(v2).Share != 25 || !p.Entry(v1).Halted || !p.Entry(v1).Published.Equal(published) ||
		p.Expires.Sub(p.Issued) != 36*time.Hour {
		t.Errorf("share and halt: exit %d, %+v\n%s%s", code, p, stdout, stderr)
	}
	code, _, stderr = runCLI("policy", "-sign-key", key, "-resume", "6.14.2.1", "-withdraw", "6.14.2.2", "-reason", "breaks checkout", dir)
	p = readPolicyAsHost(t, dir)
	if code != 0 || p.Revision != 3 || p.Entry(v1).Halted || p.Entry(v2).Withdrawn != "breaks checkout" || p.Entry(v2).Share != 25 {
		t.Errorf("resume and withdraw: exit %d, %+v\n%s", code, p, stderr)
	}
	// A withdrawn hotfix stays withdrawn; a failed run changes nothing.
	old, _ := os.ReadFile(filepath.Join(dir, rollout.FileName))
	code, _, stderr = runCLI("policy", "-sign-key", key, "-share", "6.14.2.2=100", dir)
	now, _ := os.ReadFile(filepath.Join(dir, rollout.FileName))
	if code != 1 || !strings.Contains(stderr, "hotfix 6.14.2.2 is withdrawn (breaks checkout): it stays withdrawn") || !bytes.Equal(old, now) {
		t.Errorf("share of a withdrawn hotfix: exit %d\n%s", code, stderr)
	}
}

func TestPolicyCommandRefusesAnotherKey(t *testing.T) {
	dir, _ := vendorRepo(t)
	other, err := sign.GenerateKey("Other", "other@example.com", sign.Ed25519, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := other.SecretKeyArmored()
	key := filepath.Join(t.TempDir(), "other.asc")
	os.WriteFile(key, sec, 0o600)
	code, _, stderr := runCLI("policy", "-sign-key", key, dir)
	if code != 1 || !strings.Contains(stderr, "does not verify with the repository's key") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, rollout.FileName)); err == nil {
		t.Error("a policy was written")
	}
}

func TestPolicyCommandBadFlags(t *testing.T) {
	dir, key := vendorRepo(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no key", []string{dir}, 2, "policy needs -sign-key"},
		{"no dir", []string{"-sign-key", key}, 2, "policy takes one repository directory, got 0 arguments"},
		{"not a repository", []string{"-sign-key", key, filepath.Dir(dir)}, 1, "is not a repository: it has no repodata/"},
		{"share without =", []string{"-sign-key", key, "-share", "6.14.2.1", dir}, 2, `-share "6.14.2.1": want VERSION=PERCENT`},
		{"share over 100", []string{"-sign-key", key, "-share", "6.14.2.1=101", dir}, 2, `"101" is not a percentage from 0 to 100`},
		{"share negative", []string{"-sign-key", key, "-share", "6.14.2.1=-1", dir}, 2, `"-1" is not a percentage`},
		{"share not a number", []string{"-sign-key", key, "-share", "6.14.2.1=half", dir}, 2, `"half" is not a percentage`},
		{"share twice", []string{"-sign-key", key, "-share", "6.14.2.1=5", "-share", "6.14.2.1=6", dir}, 2, "6.14.2.1 has a share already"},
		{"bad version", []string{"-sign-key", key, "-halt", "6.14.x", dir}, 2, `-halt "6.14.x": not a hotfix version`},
		{"version of another base", []string{"-sign-key", key, "-halt", "6.15.0.1", dir}, 1, "hotfix 6.15.0.1 is not of base version 6.14.2"},
		{"halt and resume", []string{"-sign-key", key, "-halt", "6.14.2.1", "-resume", "6.14.2.1", dir}, 2, "give one of the two"},
		{"resume not halted", []string{"-sign-key", key, "-resume", "6.14.2.1", dir}, 1, "-resume 6.14.2.1: it is not halted"},
		{"withdraw without reason", []string{"-sign-key", key, "-withdraw", "6.14.2.1", dir}, 2, "-withdraw needs -reason"},
		{"reason without withdraw", []string{"-sign-key", key, "-reason", "x", dir}, 2, "-reason is given without -withdraw"},
		{"reason with a newline", []string{"-sign-key", key, "-withdraw", "6.14.2.1", "-reason", "a\nb", dir}, 2, "holds a control character"},
		{"withdraw and share", []string{"-sign-key", key, "-withdraw", "6.14.2.1", "-reason", "x", "-share", "6.14.2.1=5", dir}, 2, "a withdrawn hotfix is never installed"},
		{"expires zero", []string{"-sign-key", key, "-expires", "0d", dir}, 2, `-expires "0d": must be in the future`},
		{"expires in weeks", []string{"-sign-key", key, "-expires", "2w", dir}, 2, `-expires "2w": not N days (14d) or a duration (36h)`},
		{"expires too far", []string{"-sign-key", key, "-expires", "400d", dir}, 2, "more than 366 days"},
		{"expires days not a number", []string{"-sign-key", key, "-expires", "xd", dir}, 2, `"x" is not a whole number of days`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(append([]string{"policy"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant %q", code, tc.code, stderr, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, rollout.FileName)); err == nil {
				t.Error("a policy was written")
			}
		})
	}
	// A damaged policy in the repository names the field.
	os.WriteFile(filepath.Join(dir, rollout.FileName), []byte(`{"schema":"hotchain-rollout/1","revision":0}`), 0o644)
	if code, _, stderr := runCLI("policy", "-sign-key", key, dir); code != 1 || !strings.Contains(stderr, "rollout.json: revision: 0: want a whole number from 1 up") {
		t.Errorf("damaged policy: exit %d\n%s", code, stderr)
	}
}
