package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/bench/internal/input"
	"github.com/hotchain/hotchain/bench/internal/measure"
)

// The chain benchmarks: a chain of hotfixes (10 of 1,000 files at full scale) installed on
// a sandbox host (an installroot with the base RPM) by `hotchain agent -console`, against
// the same chain installed by the agent's own dnf install call run by hand, with the
// apply in each RPM's %post (no SHOP_DO_PATCH=0); and the time the agent keeps the product
// closed (PRE_HOOK to POST_HOOK, taken by hooks that write the time) against the I/O floor
// of the same work by hand: for each hotfix, cp -a of the directories of the files it
// replaces into a backup folder, then cp -a of its files over the product.

const chainPerDir = 40

// chainLayout is what every hotfix of the chain holds.
type chainLayout struct {
	n, files, repl int // hotfixes, files each, of which replace product files
}

// replaced is the product files hotfix i (1-based) replaces: each one shares half of them
// with the hotfix before it, as a chain that fixes the same modules again does.
func (l chainLayout) replaced(i int) []string {
	return input.ModuleRels("Mod", l.repl, chainPerDir, (i-1)*l.repl/2)
}

func (l chainLayout) added(i int) []string {
	return input.ModuleRels(fmt.Sprintf("New%02d_", i), l.files-l.repl, chainPerDir, 0)
}

func (b *bench) chainBenches() []result {
	l := chainLayout{n: b.sc.chainHotfixes, files: b.sc.chainFiles}
	l.repl = l.files * 3 / 4
	installWork := fmt.Sprintf("install a chain of %d hotfixes through the agent", l.n)
	closedWork := fmt.Sprintf("closed time, %d hotfixes of %d files", l.n, l.files)
	const installPeer, closedPeer = "dnf install, apply in %post", "cp -a backups + cp -a new files"
	fail := func(err error) []result {
		return []result{failed(installWork, installPeer, 1.3, "<= 1.3x", err), failed(closedWork, closedPeer, 1.5, "<= 1.5x", err)}
	}
	for _, tool := range []string{"busybox", "dnf", "rpm", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fail(fmt.Errorf("%s is needed: %v", tool, err))
		}
	}
	base := filepath.Join(b.tmp, "chain")
	src := filepath.Join(base, "src")
	repoRoot := filepath.Join(base, "repos")
	repoDir := filepath.Join(repoRoot, "6.14.2")
	pristine := filepath.Join(base, "pristine")
	stamps := filepath.Join(base, "stamps")
	for _, d := range []string{src, repoDir, stamps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	key := filepath.Join(base, "vendor")
	err := b.generate(fmt.Sprintf("chain-%d-%d-%d", l.n, l.files, b.sc.chainBytes), func() error {
		if _, err := measure.Output(b.hotchain, "keygen", "-algo", "ed25519", "-name", "Shop Hotfixes", "-email", "hotfixes@shop.example", "-out", key); err != nil {
			return err
		}
		for i := 1; i <= l.n; i++ {
			rng := rand.New(rand.NewPCG(300+uint64(i), 1))
			rels := append(l.replaced(i), l.added(i)...)
			spec := input.Hotfix{Version: fmt.Sprintf("6.14.2.%d", i), Rels: rels, Sizes: input.Sizes(len(rels), b.sc.chainBytes, rng), Seed: 300 + uint64(i), NoScripts: true}
			dir := filepath.Join(src, "shop-hotfix-"+spec.Version)
			if err := input.WriteHotfix(dir, spec); err != nil {
				return err
			}
			// Signed, as dnf checks them (gpgcheck=1 in the .repo file).
			if _, err := measure.Output(b.hotchain, "build", "-product", "shop", "-sign-key", key+".asc", "-out", repoDir, dir); err != nil {
				return err
			}
		}
		tarballs, _ := filepath.Glob(filepath.Join(repoDir, "*.tar.gz*"))
		for _, t := range tarballs {
			os.Remove(t)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	stop, url, err := b.serve(repoRoot)
	if err != nil {
		return fail(err)
	}
	defer stop()
	// The base RPM and the metadata name the server's URL, which changes every run.
	if _, err := measure.Output(b.hotchain, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url, "-sign-key", key+".asc", "-binary", b.hotchain, "-out", repoDir); err != nil {
		return fail(err)
	}
	if _, err := measure.Output(b.hotchain, "repo", "-product", "shop", "-sign-key", key+".asc", "-base-url", url, repoDir); err != nil {
		return fail(err)
	}
	if err := b.chainHost(pristine, repoDir, key+".pub.asc", stamps, l); err != nil {
		return fail(err)
	}

	// Fresh copies of the host for every run, made (and written back) before the first.
	reps := b.slowReps
	hosts, err := b.freshHosts(base, pristine, 3*(reps+1)+1)
	defer removeAll(hosts)
	if err != nil {
		return fail(err)
	}
	taken := 0
	next := func() string { taken++; return hosts[taken-1] }
	agent := func(host string) measure.Command {
		return measure.Command{Name: b.hotchain, Args: []string{"agent", "-console", "-root", host, "-config", "/etc/sysconfig/shop-hotfix"}}
	}
	// The peer is the agent's own dnf install call, word for word, taken from its first run.
	calls, err := b.captureDNFCalls(agent(next()))
	if err != nil {
		return fail(err)
	}
	var dnfArgs []string
	for _, c := range calls {
		if strings.Contains(strings.Join(c, " "), " install shop-hotfix-") {
			dnfArgs = c
		}
	}
	if dnfArgs == nil {
		return fail(fmt.Errorf("the agent ran no dnf install: %q", calls))
	}

	var agentS, dnfS, closedS, cpS []measure.Sample
	var said []string // the agent's own "closed for" lines
	for i := -1; i < reps; i++ {
		agentHost, dnfHost, cpHost := next(), next(), next()
		steps := []func() error{
			func() error {
				os.Remove(filepath.Join(stamps, "pre"))
				os.Remove(filepath.Join(stamps, "post"))
				c := agent(agentHost)
				s, out, err := runKeep(c)
				if err != nil {
					return err
				}
				closed, err := stampGap(stamps)
				if err != nil {
					return err
				}
				if got := checkChainHost(agentHost, l.n); got != "" {
					return fmt.Errorf("after the agent: %s\n%s", got, measure.Tail(out, 1500))
				}
				if i >= 0 {
					agentS, closedS = append(agentS, s), append(closedS, measure.Sample{Wall: closed})
					if m := regexp.MustCompile(`closed for [0-9.]+ s`).FindString(out); m != "" {
						said = append(said, m)
					}
				}
				return nil
			},
			func() error {
				args := make([]string, len(dnfArgs))
				for k, a := range dnfArgs {
					args[k] = strings.ReplaceAll(a, hosts[0], dnfHost)
				}
				s, err := measure.Run(measure.Command{Name: "dnf", Args: args})
				if err != nil {
					return err
				}
				if got := checkChainHost(dnfHost, l.n); got != "" {
					return fmt.Errorf("after dnf install: %s", got)
				}
				if i >= 0 {
					dnfS = append(dnfS, s)
				}
				return nil
			},
			func() error {
				s, err := measure.Run(chainByHand(cpHost, src, l))
				if i >= 0 && err == nil {
					cpS = append(cpS, s)
				}
				return err
			},
		}
		// Who goes first changes every round.
		for k := range steps {
			if err := steps[(k+i+1)%len(steps)](); err != nil {
				return fail(err)
			}
		}
	}
	_, hfFiles := dirSize(filepath.Join(src, "shop-hotfix-6.14.2.1", "FileChanges"))
	common := fmt.Sprintf("%d hotfixes of %d files, %s each: %d of each replace product files, half of them ones the hotfix before replaced too, %d are new; no install scripts. A sandbox host: an installroot with a static busybox and the base RPM, a fresh copy for every run, all made and written back before the first; the repository served by `hotchain serve` on loopback.",
		l.n, hfFiles, measure.MiB(b.sc.chainBytes), l.repl, l.files-l.repl)
	return []result{
		{
			work: installWork, peerName: installPeer,
			hc: measure.Secs(measure.MedianWall(agentS)), peer: measure.Secs(measure.MedianWall(dnfS)),
			ratio: ratio(agentS, dnfS), goal: 1.3, goalText: "<= 1.3x",
			detail: fmt.Sprintf("%s hotchain `agent -console` (repoquery, one dnf install with the apply deferred, the first hotfix prepared, PRE_HOOK, ten applies, POST_HOOK, the rpm database compared with the ledger) runs %s; `dnf %s` with every %%post applying its hotfix (the agent's own install call, taken from its first run) runs %s. Both hosts end with the ten hotfixes in the ledger.",
				common, measure.Spread(agentS), strings.Join(dnfArgs, " "), measure.Spread(dnfS)),
		},
		{
			work: closedWork, peerName: closedPeer,
			hc: measure.Secs(measure.MedianWall(closedS)), peer: measure.Secs(measure.MedianWall(cpS)),
			ratio: ratio(closedS, cpS), goal: 1.5, goalText: "<= 1.5x",
			detail: fmt.Sprintf("The same agent runs: from PRE_HOOK's start to POST_HOOK's end (hooks that write `date +%%s%%N`), %s (the agent's reports: %s); in the window, each hotfix is rechecked by lstat, backed up (the first one before PRE_HOOK), placed with one syncfs per phase and recorded. The floor, for each hotfix in turn `mkdir -p B && cp -a DIRS B/ && cp -a HOTFIX/FileChanges/. ROOT/` (the directories of the files it replaces, then its files; no sync), runs %s.",
				measure.Spread(closedS), strings.Join(said, ", "), measure.Spread(cpS)),
		},
	}
}

// chainHost makes the pristine sandbox host: busybox for the scriptlets, the product with
// every file the chain replaces, the settings with hooks that write the time into stamps,
// and the base RPM installed by dnf.
func (b *bench) chainHost(root, repoDir, pubKey, stamps string, l chainLayout) error {
	os.RemoveAll(root)
	for _, d := range []string{"bin", "tmp", "var/tmp", "etc/yum.repos.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	bb, _ := exec.LookPath("busybox")
	if _, err := measure.Output("cp", bb, filepath.Join(root, "bin/busybox")); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "cat", "echo", "mkdir", "rm", "cp", "ls", "grep", "test", "["} {
		os.Symlink("busybox", filepath.Join(root, "bin", applet))
	}
	rng := rand.New(rand.NewPCG(399, 1))
	seen := map[string]bool{}
	for i := 1; i <= l.n; i++ {
		for _, rel := range l.replaced(i) {
			if !seen[rel] {
				seen[rel] = true
				if err := input.WriteFile(filepath.Join(root, "opt/shop", filepath.FromSlash(rel)), b.sc.chainBytes/int64(l.files), rng); err != nil {
					return err
				}
			}
		}
	}
	repoFile, err := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	if err != nil {
		return err
	}
	stamp := func(name string) string {
		return fmt.Sprintf(`"sh -c 'date +%%s%%N > %s'"`, filepath.Join(stamps, name))
	}
	pub, err := os.ReadFile(pubKey)
	if err != nil {
		return err
	}
	files := map[string]string{
		"etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix": string(pub),
		"etc/sysconfig/shop-hotfix": fmt.Sprintf("PRODUCT=shop\nHOSTNAME=benchhost\nRANDOMWAIT=0\nYUM_PARAMETER=\"%s\"\nPRE_HOOK=%s\nPOST_HOOK=%s\n",
			yumParameter, stamp("pre"), stamp("post")),
		"etc/yum.repos.d/shop-hotfix.repo": string(repoFile),
		"opt/shop/version.txt":             "6.14.2\n",
	}
	for rel, text := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
	}
	_, err = measure.Output("dnf", "-y", "--installroot", root, "--setopt=shop-hotfix.gpgkey=file://"+filepath.Join(root, "etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix"),
		"--disablerepo", "*", "--enablerepo", "shop-hotfix", "--releasever=1", "install", "shop-hotfix-base")
	return err
}

// checkChainHost says what is wrong with a host after the chain's install: "" when the
// ledger holds all n hotfixes.
func checkChainHost(host string, n int) string {
	data, _ := os.ReadFile(filepath.Join(host, "etc/opt/shop/hotfix/benchhost.txt"))
	if got := len(strings.Fields(string(data))); got != n {
		return fmt.Sprintf("%d hotfixes in the ledger, want %d", got, n)
	}
	return ""
}

// chainByHand is the floor of the closed window: each hotfix's backups and files by cp -a.
func chainByHand(host, src string, l chainLayout) measure.Command {
	var script []string
	for i := 1; i <= l.n; i++ {
		var dirs []string
		for _, rel := range l.replaced(i) {
			d := filepath.Join(host, "opt/shop", filepath.Dir(filepath.FromSlash(rel)))
			if len(dirs) == 0 || dirs[len(dirs)-1] != d {
				dirs = append(dirs, d)
			}
		}
		hf := filepath.Join(src, fmt.Sprintf("shop-hotfix-6.14.2.%d", i))
		backup := filepath.Join(host, "backup-byhand", fmt.Sprint(i))
		script = append(script, fmt.Sprintf("mkdir -p %s && cp -a %s %s/ && cp -a %s/FileChanges/. %s/",
			backup, strings.Join(dirs, " "), backup, hf, filepath.Join(host, "opt/shop")))
	}
	return measure.Command{Name: "sh", Args: []string{"-c", strings.Join(script, " && ")}}
}

// stampGap is POST_HOOK's time less PRE_HOOK's, from the files the hooks wrote.
func stampGap(dir string) (time.Duration, error) {
	var t [2]int64
	for k, name := range []string{"pre", "post"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return 0, fmt.Errorf("the agent's %s hook wrote no time: %v", strings.ToUpper(name)+"_HOOK", err)
		}
		if t[k], err = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err != nil {
			return 0, fmt.Errorf("%s: %v", filepath.Join(dir, name), err)
		}
	}
	if t[1] < t[0] {
		return 0, fmt.Errorf("POST_HOOK ran before PRE_HOOK")
	}
	return time.Duration(t[1] - t[0]), nil
}

// runKeep is run, also returning what the command printed.
func runKeep(c measure.Command) (measure.Sample, string, error) {
	out := filepath.Join(os.TempDir(), fmt.Sprintf("bench-out-%d", time.Now().UnixNano()))
	defer os.Remove(out)
	wrapped := measure.Command{Name: "sh", Args: append([]string{"-c", `out=$1; shift; exec "$@" > "$out" 2>&1`, "sh", out, c.Name}, c.Args...), Env: c.Env}
	s, err := measure.Run(wrapped)
	data, _ := os.ReadFile(out)
	if err != nil {
		return s, string(data), fmt.Errorf("%s: %v\n%s", c, err, measure.Tail(string(data), 1500))
	}
	return s, string(data), nil
}

// captureDNFCalls runs the agent once with a dnf on PATH that writes down the arguments of
// every call before it runs the real dnf, and returns them, one slice per call.
func (b *bench) captureDNFCalls(agent measure.Command) ([][]string, error) {
	real, err := exec.LookPath("dnf")
	if err != nil {
		return nil, err
	}
	shim := filepath.Join(b.tmp, "chain", "shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		return nil, err
	}
	argsFile := filepath.Join(shim, "args")
	os.Remove(argsFile)
	script := fmt.Sprintf("#!/bin/sh\n{ for a in \"$@\"; do printf '%%s\\0' \"$a\"; done; printf '\\1'; } >> %s\nexec %s \"$@\"\n", argsFile, real)
	if err := os.WriteFile(filepath.Join(shim, "dnf"), []byte(script), 0o755); err != nil {
		return nil, err
	}
	agent.Env = append(agent.Env, "PATH="+shim+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, out, err := runKeep(agent); err != nil {
		return nil, fmt.Errorf("%v\n%s", err, measure.Tail(out, 1500))
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		return nil, fmt.Errorf("the agent ran no dnf: %w", err)
	}
	var calls [][]string
	for _, rec := range bytes.Split(bytes.TrimSuffix(data, []byte{1}), []byte{1}) {
		calls = append(calls, strings.Split(strings.TrimSuffix(string(rec), "\x00"), "\x00"))
	}
	return calls, nil
}
