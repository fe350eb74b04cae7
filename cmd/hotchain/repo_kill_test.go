package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging"
)

// TestRepoKilledAtRandomMoments kills `hotchain repo` (a real process, SIGKILL) at random
// moments while it moves a signed repository between 100 and 200 packages, and after each
// kill has the real dnf read the repository with gpgcheck and repo_gpgcheck: it must read
// the old or the new metadata, complete and signed, never an error or a mix. Killed runs
// leave at most one temporary directory, and a run that completes leaves none.
func TestRepoKilledAtRandomMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 200 packages and runs dnf a dozen times")
	}
	testutil.RequireTool(t, "dnf")
	bin := hotchainBin(t)
	work := t.TempDir()
	dir := filepath.Join(work, "repo", "6.14.2")
	extra := filepath.Join(work, "extra") // packages 101-200 while they are out of the repository
	for _, d := range []string{dir, extra} {
		os.MkdirAll(d, 0o755)
	}
	signer, err := sign.GenerateKey("Shop Hotfixes", "hotfixes@shop.example", sign.Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := packaging.WriteKeyFiles(signer, filepath.Join(work, "vendor"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := 1; i <= n; i++ {
		src := filepath.Join(work, "src", fmt.Sprintf("shop-hotfix-6.14.2.%d", i))
		for name, body := range map[string]string{
			"version.txt":              fmt.Sprintf("6.14.2.%d\n", i),
			"fixed-bugs.txt":           fmt.Sprintf("BUG-%d: fixed\n", i),
			"FileChanges/lib/fix.txt":  fmt.Sprintf("fix %d\n", i),
			"FileChanges/lib/note.txt": "note\n",
		} {
			p := filepath.Join(src, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte(body), 0o644)
		}
		out := dir
		if i > n/2 {
			out = extra
		}
		if _, err := packaging.Build(src, packaging.BuildOptions{Product: "shop", Signer: signer, OutDir: out}); err != nil {
			t.Fatal(err)
		}
	}
	extraRPMs, _ := filepath.Glob(filepath.Join(extra, "*.rpm"))
	move := func(in bool) {
		t.Helper()
		for _, p := range extraRPMs {
			from, to := p, filepath.Join(dir, filepath.Base(p))
			if !in {
				from, to = to, from
			}
			if err := os.Rename(from, to); err != nil {
				t.Fatal(err)
			}
		}
	}
	repoArgs := []string{"repo", "-sign-key", keys.Secret, "-base-url", "file://" + filepath.Dir(dir)}
	start := func(noUpdate bool) *exec.Cmd {
		args := repoArgs
		if noUpdate {
			args = append(append([]string(nil), args...), "-no-update")
		}
		cmd := exec.Command(bin, append(args, dir)...)
		cmd.Env = os.Environ()
		cmd.Stderr = new(strings.Builder)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// A complete run over all 200 packages, reading every one, bounds the moments of the
	// kills; then one over the first 100 publishes those.
	move(true)
	began := time.Now()
	if err := start(true).Wait(); err != nil {
		t.Fatal(err)
	}
	full := time.Since(began)
	move(false)
	if err := start(false).Wait(); err != nil {
		t.Fatal(err)
	}
	published := n / 2
	if got := dnfCount(t, work, dir, "first"); got != published {
		t.Fatalf("dnf lists %d packages after the first run, want %d", got, published)
	}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("a full run takes %v; seed %d", full, seed)
	kills := 0
	extraIn := false
	for round := 0; round < 10; round++ {
		// Each run goes from the published count to the other one.
		if in := published == n/2; in != extraIn {
			move(in)
			extraIn = in
		}
		want := map[int]bool{published: true, n + n/2 - published: true}
		delay := time.Duration(rng.Int64N(int64(full) * 5 / 4))
		cmd := start(round%2 == 0)
		time.Sleep(delay)
		cmd.Process.Kill()
		err := cmd.Wait()
		killed := false
		if x, ok := err.(*exec.ExitError); ok {
			ws, _ := x.Sys().(syscall.WaitStatus)
			if !ws.Signaled() {
				t.Fatalf("round %d: hotchain repo failed: %v\n%s", round, err, cmd.Stderr)
			}
			killed = true
			kills++
		} else if err != nil {
			t.Fatal(err)
		}
		got := dnfCount(t, work, dir, fmt.Sprint(round))
		t.Logf("round %d: killed after %v: %v; dnf lists %d packages", round, delay, killed, got)
		if !want[got] {
			t.Fatalf("round %d: dnf lists %d packages after a kill at %v, want %d (old) or %d (new)", round, got, delay, published, n+n/2-published)
		}
		published = got
		if debris, _ := filepath.Glob(filepath.Join(dir, ".repodata.tmp-*")); len(debris) > 1 {
			t.Errorf("round %d: temporary directories pile up: %v", round, debris)
		}
	}
	if kills == 0 {
		t.Error("no run was killed: every kill came after the run ended")
	}
	t.Logf("%d of 10 runs killed", kills)
	if err := start(false).Wait(); err != nil {
		t.Fatal(err)
	}
	if debris, _ := filepath.Glob(filepath.Join(dir, ".repodata.tmp-*")); len(debris) != 0 {
		t.Errorf("temporary directories left after a complete run: %v", debris)
	}
}

// dnfCount has the real dnf list the repository at dir, checking repomd.xml's signature
// and the packages' (repo_gpgcheck, gpgcheck), with a fresh cache, and returns how many
// packages it lists; a dnf error fails the test.
func dnfCount(t *testing.T, work, dir, name string) int {
	t.Helper()
	root := filepath.Join(work, "dnf", name)
	os.MkdirAll(filepath.Join(root, "repos"), 0o755)
	key := filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix")
	cmd := exec.Command("dnf", "--installroot="+root, "--setopt=reposdir="+filepath.Join(root, "repos"),
		"--setopt=cachedir="+filepath.Join(root, "cache"), "--releasever=1", "-y", "-q",
		"--repofrompath=kill,file://"+dir, "--repo=kill",
		"--setopt=kill.gpgcheck=1", "--setopt=kill.repo_gpgcheck=1", "--setopt=kill.gpgkey=file://"+key,
		"--setopt=kill.skip_if_unavailable=False",
		"repoquery", "--available", "--qf", "%{name}")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dnf repoquery: %v\n%s", err, out)
	}
	count := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "shop-hotfix-6_14_2_") {
			count++
		}
	}
	os.RemoveAll(root)
	return count
}
