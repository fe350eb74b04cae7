package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/testutil"
)

// gpgHome is a GNUPGHOME of the test's own, its agent stopped at the end.
func gpgHome(t *testing.T) func(args ...string) []byte {
	t.Helper()
	testutil.RequireTool(t, "gpg")
	home := t.TempDir()
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	return func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
}

// cliRun runs hotchain's command line in-process with environ.
func cliRun(environ []string, args ...string) (int, string) {
	var out bytes.Buffer
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Environ: environ}
	code := report(&out, run(context.Background(), e, args))
	return code, out.String()
}

// TestSignWithKeyNewerThanSourceDateEpoch: a key made now by gpg (elsewhere than hotchain)
// and SOURCE_DATE_EPOCH a week earlier, as in a CI that takes it from the last commit.
// build and repo both sign, and the real rpm -K and gpg --verify accept the signatures.
func TestSignWithKeyNewerThanSourceDateEpoch(t *testing.T) {
	testutil.RequireTool(t, "rpm")
	t.Run("primary key signs", func(t *testing.T) {
		gpg := gpgHome(t)
		gpg("--quick-gen-key", "Shop Hotfixes <hotfixes@shop.example>", "ed25519", "sign,cert", "never")
		signBuildAndRepo(t, gpg)
	})
	t.Run("signing subkey", func(t *testing.T) {
		gpg := gpgHome(t)
		gpg("--quick-gen-key", "Shop Hotfixes <hotfixes@shop.example>", "ed25519", "cert", "never")
		fpr := strings.Split(string(gpg("--with-colons", "--list-keys", "hotfixes@shop.example")), "\nfpr:::::::::")[1][:40]
		gpg("--quick-add-key", fpr, "ed25519", "sign", "never")
		signBuildAndRepo(t, gpg)
	})
}

func signBuildAndRepo(t *testing.T, gpg func(args ...string) []byte) {
	work := t.TempDir()
	key, pub := filepath.Join(work, "vendor.asc"), filepath.Join(work, "vendor.pub.asc")
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(key, gpg("--export-secret-keys", "--armor", "hotfixes@shop.example"))
	write(pub, gpg("--export", "--armor", "hotfixes@shop.example"))

	sde := time.Now().AddDate(0, 0, -7).Unix()
	environ := []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(sde, 10)}
	dir := filepath.Join(work, "repo", "6.14.2")
	if code, out := cliRun(environ, "build", "-product", "shop", "-sign-key", key, "-out", dir, "../../testdata/shop-hotfix-6.14.2.1"); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	if code, out := cliRun(environ, "repo", "-sign-key", key, "-base-url", "https://hotfix.example/shop", dir); code != 0 {
		t.Fatalf("repo: exit %d\n%s", code, out)
	}

	db := filepath.Join(t.TempDir(), "rpmdb")
	if out, err := exec.Command("rpm", "--dbpath", db, "--import", pub).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v\n%s", err, out)
	}
	rpm := filepath.Join(dir, "shop-hotfix-6_14_2_1-1-0.noarch.rpm")
	out, err := exec.Command("rpm", "--dbpath", db, "-K", rpm).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "digests signatures OK") {
		t.Errorf("rpm -K: %v\n%s", err, out)
	}

	verify := gpgHome(t)
	verify("--import", pub)
	verify("--verify", filepath.Join(dir, "repodata", "repomd.xml.asc"), filepath.Join(dir, "repodata", "repomd.xml"))
}

// TestExpiredKeyRefused: build and repo refuse a key that expired, with what to do, before
// they write anything.
func TestExpiredKeyRefused(t *testing.T) {
	gpg := gpgHome(t)
	gpg("--faked-system-time", "20240101T000000!", "--quick-gen-key", "Old <old@shop.example>", "ed25519", "sign,cert", "1d")
	work := t.TempDir()
	key := filepath.Join(work, "old.asc")
	if err := os.WriteFile(key, gpg("--export-secret-keys", "--armor", "old@shop.example"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(work, "6.14.2")
	for _, args := range [][]string{
		{"build", "-product", "shop", "-sign-key", key, "-out", dir, "../../testdata/shop-hotfix-6.14.2.1"},
		{"repo", "-sign-key", key, "-base-url", "https://hotfix.example/shop", dir},
	} {
		code, out := cliRun(nil, args...)
		if code != 1 || !strings.Contains(out, "hotchain: signing key "+key+" (") ||
			!strings.Contains(out, ") cannot sign: it expired on 2024-01-02 00:00:00 UTC\nhint: extend it where it was made: gpg --quick-set-expire ") {
			t.Errorf("%s: exit %d\n%s", args[0], code, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was made: %v", dir, err)
	}
}
