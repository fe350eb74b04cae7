package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hotchain/hotchain/bench/internal/measure"
)

// The agent benchmark: `hotchain agent -check` on a host where nothing is pending, against
// the one dnf call it makes (repo/dnf), on the same repository served by hotchain serve.

// yumParameter is YUM_PARAMETER for a sandbox host on Debian's dnf: the default plus a
// release version (no system-release package in the sandbox to take it from).
const yumParameter = "--disablerepo '*' --enablerepo shop-hotfix --releasever=1"

func (b *bench) agentBench() []result {
	const work = "agent -check, nothing pending"
	const peerName = "its dnf repoquery call"
	fail := func(err error) []result {
		return []result{failed(work, peerName, 1.10, "overhead <= 10%", err)}
	}
	base := filepath.Join(b.tmp, "agent")
	repoRoot := filepath.Join(base, "repos")
	repoDir := filepath.Join(repoRoot, "6.14.2")
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		return fail(err)
	}
	n := b.sc.agentHotfixes
	if err := b.makeRepoPackages(repoDir, 1, n); err != nil {
		return fail(err)
	}
	stop, url, err := b.serve(repoRoot)
	if err != nil {
		return fail(err)
	}
	defer stop()
	if _, err := measure.Output(b.hotchain, "repo", "-product", "shop", "-base-url", url, repoDir); err != nil {
		return fail(err)
	}

	// The host: settings, the .repo file, the product version, a ledger that holds every
	// hotfix the repository offers (so nothing is pending), an empty rpm database.
	host := filepath.Join(base, "host")
	var versions []string
	for i := 1; i <= n; i++ {
		versions = append(versions, fmt.Sprintf("6.14.2.%d", i))
	}
	repoFile, err := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	if err != nil {
		return fail(err)
	}
	files := map[string]string{
		"etc/sysconfig/shop-hotfix":         fmt.Sprintf("PRODUCT=shop\nHOSTNAME=benchhost\nRANDOMWAIT=0\nYUM_PARAMETER=\"%s\"\n", yumParameter),
		"etc/yum.repos.d/shop-hotfix.repo":  string(repoFile),
		"opt/shop/version.txt":              "6.14.2\n",
		"etc/opt/shop/hotfix/benchhost.txt": strings.Join(versions, "\n") + "\n",
		"etc/opt/shop/hotfix/version.txt":   strings.Join(versions, "\n") + "\n",
	}
	for rel, text := range files {
		p := filepath.Join(host, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return fail(err)
		}
	}
	if _, err := measure.Output("rpm", "--root", host, "--initdb"); err != nil {
		return fail(err)
	}

	hc := measure.Command{Name: b.hotchain, Args: []string{"agent", "-check", "-root", host, "-config", "/etc/sysconfig/shop-hotfix"}}
	// The peer is the dnf call the agent makes, word for word: taken from the agent itself
	// through a dnf on PATH that writes down its arguments before it runs the real one.
	dnfArgs, err := b.captureDNF(hc)
	if err != nil {
		return []result{{work: work, peerName: peerName, ratio: math.NaN(), goal: 1.10, goalText: "overhead <= 10%",
			notRun: "agent not available", detail: "`hotchain agent -check` failed: " + firstLine(err.Error())}}
	}
	peer := measure.Command{Name: "dnf", Args: dnfArgs}
	// Does dnf see the hotfixes (else "nothing pending" would be the wrong kind of nothing)?
	out, err := measure.Output(peer.Name, peer.Args...)
	if err != nil {
		return fail(err)
	}
	if got := strings.Count(out, "shop-hotfix-6_14_2_"); got != n {
		return fail(fmt.Errorf("dnf repoquery lists %d hotfixes, want %d:\n%s", got, n, out))
	}

	hcS, peerS, err := measure.Pair(b.agentReps(), measure.Side{Cmd: func() measure.Command { return hc }}, measure.Side{Cmd: func() measure.Command { return peer }})
	if err != nil {
		return fail(err)
	}
	r := ratio(hcS, peerS)
	over := measure.MedianWall(hcS) - measure.MedianWall(peerS)
	// Where the overhead goes: starting the hotchain process at all (its runtime and package
	// initialisation, the vendor side's included), measured as `hotchain help` less a process
	// that does nothing.
	startS, err := measure.Repeat(b.agentReps(), measure.Command{Name: b.hotchain, Args: []string{"help"}})
	if err != nil {
		return fail(err)
	}
	trueS, err := measure.Repeat(b.agentReps(), measure.Command{Name: "true"})
	if err != nil {
		return fail(err)
	}
	return []result{{
		work: work, peerName: peerName,
		hc: measure.Secs(measure.MedianWall(hcS)), peer: measure.Secs(measure.MedianWall(peerS)),
		ratio: r, goal: 1.10, goalText: "overhead <= 10%",
		detail: fmt.Sprintf("a repository of %d hotfixes served by `hotchain serve` on loopback, all of them in the host's ledger; the agent adds %s (%+.0f%%) to its dnf call, `dnf %s` (taken from the agent's own run; its `--installed` gives the agent what the rpm database holds, so no rpm runs). Of that, starting the hotchain process (`hotchain help`: Go runtime and package initialisation) takes %s more than starting `true`; the rest is the agent's settings, locks, syslog and last-run record. hotchain runs %s, dnf runs %s.",
			n, measure.Secs(over), (r-1)*100, strings.Join(dnfArgs, " "), measure.Secs(measure.MedianWall(startS)-measure.MedianWall(trueS)), measure.Spread(hcS), measure.Spread(peerS)),
	}}
}

// serve starts hotchain serve on a free port for dir; stop ends it.
func (b *bench) serve(dir string) (stop func(), url string, err error) {
	cmd := exec.Command(b.hotchain, "serve", "-dir", dir, "-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
		for sc.Scan() {
			if u := re.FindString(sc.Text()); u != "" {
				urls <- u
			}
		}
	}()
	select {
	case url = <-urls:
		return stop, url, nil
	case <-time.After(10 * time.Second):
		stop()
		return nil, "", fmt.Errorf("hotchain serve did not say where it listens")
	}
}

// captureDNF runs the agent once with a dnf on PATH that writes its arguments to a file
// and then runs the real dnf, and returns those arguments.
func (b *bench) captureDNF(agent measure.Command) ([]string, error) {
	real, err := exec.LookPath("dnf")
	if err != nil {
		return nil, err
	}
	shim := filepath.Join(b.tmp, "agent", "shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		return nil, err
	}
	argsFile := filepath.Join(shim, "args")
	os.Remove(argsFile)
	script := fmt.Sprintf("#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\0' \"$a\"; done > %s\nexec %s \"$@\"\n", argsFile, real)
	if err := os.WriteFile(filepath.Join(shim, "dnf"), []byte(script), 0o755); err != nil {
		return nil, err
	}
	agent.Env = append(agent.Env, "PATH="+shim+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, err := measure.Run(agent); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		return nil, fmt.Errorf("the agent ran no dnf: %w", err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00"), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
