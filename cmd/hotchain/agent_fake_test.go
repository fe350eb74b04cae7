package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/agent/agenttest"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// The agent's scheduling, locks and reports do not depend on dnf, so these tests run them
// with fakePM, which installs a hotfix the way a hotfix RPM does: %pre checks the
// prerequisites (a failure keeps the package out), %post applies the hotfix directory with
// applier.Host.Apply under the agent's LOCK_TS (a failure leaves the package installed and
// not applied, and the transaction goes on, as with dnf), unless SHOP_DO_PATCH=0 defers the
// apply, as the agent's installs do. The real dnf is exercised by
// repo's client tests and by the end-to-end test.

// fakePMEnv names the fake's spec file in the environment of the agent processes the tests
// start: the test binary then runs as hotchain with the fake (see init below).
const fakePMEnv = "HOTCHAIN_AGENT_TEST_PM"

func init() {
	if spec := os.Getenv(fakePMEnv); spec != "" {
		agent.NewPackageManager = func(cfg *sysconfig.Config, p agent.PMIO) (agent.PackageManager, error) {
			return &fakePM{SpecFile: spec, cfg: cfg, io: p}, nil
		}
	}
}

// fakeSpec is what the fake offers and how it behaves; it lives in a JSON file so that
// processes share it.
type fakeSpec struct {
	Offered []string      // hotfix versions the repository offers
	Down    bool          // the repository cannot be reached
	Sleep   time.Duration // how long an install takes
	Log     string        // file that gets one line per call
	State   string        // file with the installed package names: the rpm database
	// InstallFails makes Install fail before it unpacks anything, as dnf does when a
	// download or a signature check fails.
	InstallFails bool
	// Built is each offered hotfix's build time, as repoquery's %{buildtime} gives it;
	// a version not in it has none (yum).
	Built map[string]time.Time `json:",omitempty"`
}

type fakePM struct {
	SpecFile string
	cfg      *sysconfig.Config
	io       agent.PMIO
	mu       sync.Mutex
}

var _ agent.PackageManager = (*fakePM)(nil)

func (f *fakePM) spec() fakeSpec {
	var s fakeSpec
	data, err := os.ReadFile(f.SpecFile)
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil {
		panic(fmt.Sprintf("fake package manager spec %s: %v", f.SpecFile, err))
	}
	return s
}

func (f *fakePM) log(format string, args ...any) {
	lf, err := os.OpenFile(f.spec().Log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	defer lf.Close()
	fmt.Fprintf(lf, format+"\n", args...)
}

func (f *fakePM) installed() []string {
	data, _ := os.ReadFile(f.spec().State)
	return strings.Fields(string(data))
}

func (f *fakePM) pkg(v hotfix.Version) dnf.Package {
	return dnf.Package{Name: hotfix.PackageName(f.cfg.Product, v), Arch: "noarch", Version: "1-0", Repo: f.cfg.Product + "-hotfix", Hotfix: v,
		BuildTime: f.spec().Built[v.String()]}
}

func (f *fakePM) offered() []hotfix.Version {
	var vs []hotfix.Version
	for _, s := range f.spec().Offered {
		v, err := hotfix.ParseHotfixVersion(s)
		if err != nil {
			panic(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func (f *fakePM) Available(ctx context.Context, product string) ([]dnf.Package, error) {
	f.log("available")
	if f.spec().Down {
		return nil, fmt.Errorf("dnf repoquery: exit status 1: Error: Failed to download metadata for repo '%s-hotfix'", product)
	}
	inst := f.installed()
	var pkgs []dnf.Package
	for _, v := range f.offered() {
		if p := f.pkg(v); !slices.Contains(inst, p.Name) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

func (f *fakePM) Download(ctx context.Context, names ...string) error {
	f.log("download %s", strings.Join(names, " "))
	return nil
}

func (f *fakePM) Install(ctx context.Context, names ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	spec := f.spec()
	f.log("install-start %s %d %d", strings.Join(names, " "), os.Getpid(), time.Now().UnixNano())
	if err := cli.SleepCtx(ctx, spec.Sleep); err != nil {
		f.log("install-interrupted %s %d %d", strings.Join(names, " "), os.Getpid(), time.Now().UnixNano())
		return err
	}
	if spec.InstallFails {
		return fmt.Errorf("dnf install: exit status 1: Error: GPG check FAILED")
	}
	target, ok := hotfix.ParsePackageName(f.cfg.Product, names[0])
	if !ok || !slices.ContainsFunc(f.offered(), target.Equal) {
		return fmt.Errorf("dnf install: exit status 1: No match for argument: %s", names[0])
	}
	out := f.io.Stdout
	if out == nil {
		out = io.Discard
	}
	host := &applier.Host{Cfg: f.cfg, Out: out, Environ: f.io.Env}
	deferred := cli.LookupEnv(f.io.Env, hotfix.DoPatchVar(f.cfg.Product)) == "0"
	for _, v := range f.offered() {
		name := f.pkg(v).Name
		if v.Compare(target) > 0 || slices.Contains(f.installed(), name) {
			continue
		}
		check := host.CheckPrereqs
		if deferred {
			check = host.CheckUnpack
		}
		if err := check(ctx, v); err != nil {
			fmt.Fprintf(out, "error: %%pre(%s) scriptlet failed: %v\n", name, err)
			continue
		}
		lf, err := os.OpenFile(spec.State, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintln(lf, name)
		lf.Close()
		if deferred {
			continue // %post: SHOP_DO_PATCH=0, not applied
		}
		if err := host.Apply(ctx, host.HotfixDir(v), applier.ApplyOptions{}); err != nil {
			fmt.Fprintf(out, "warning: %%post(%s) scriptlet failed: %v\n", name, err)
		}
	}
	fmt.Fprintf(out, "Complete!\n")
	f.log("install-end %s %d %d", strings.Join(names, " "), os.Getpid(), time.Now().UnixNano())
	return nil
}

func (f *fakePM) Remove(ctx context.Context, names ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("remove %s", strings.Join(names, " "))
	if cli.LookupEnv(f.io.Env, hotfix.DoPatchVar(f.cfg.Product)) != "0" {
		return fmt.Errorf("fake package manager: remove without %s=0 would roll back", hotfix.DoPatchVar(f.cfg.Product))
	}
	var keep []string
	for _, n := range f.installed() {
		if !slices.Contains(names, n) {
			keep = append(keep, n)
		}
	}
	return os.WriteFile(f.spec().State, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
}

func (f *fakePM) Installed(ctx context.Context, product string) ([]dnf.Package, error) {
	var pkgs []dnf.Package
	for _, n := range f.installed() {
		v, ok := hotfix.ParsePackageName(product, n)
		if !ok {
			return nil, fmt.Errorf("fake rpm database holds %q", n)
		}
		pkgs = append(pkgs, f.pkg(v))
	}
	return pkgs, nil
}

// agentHost is a sandbox host for agent tests: a root with the settings file, the product at
// 6.14.2, hotfix directories 6.14.2.1 to 6.14.2.4 unpacked under PATCHES_DIR (as their RPMs
// would leave them), nightly runs enabled, and a fake package manager offering 1 to 3.
type agentHost struct {
	t        *testing.T
	root     string
	settings string // the settings file, outside view
	specFile string
	cfg      *sysconfig.Config
	environ  []string
	syslog   []string
	mu       sync.Mutex
}

const agentSettings = agenttest.Settings

func newAgentHost(t *testing.T, extra ...string) *agentHost {
	t.Helper()
	root := t.TempDir()
	h := &agentHost{t: t, root: root, settings: filepath.Join(root, "etc/sysconfig/shop-hotfix"), specFile: filepath.Join(root, "fakepm.json")}
	agenttest.Host(t, root, extra...)
	h.write("var/lock/subsys/shop-hotfix", "")
	h.environ = agenttest.Environ()
	h.setSpec(fakeSpec{Offered: []string{"6.14.2.1", "6.14.2.2", "6.14.2.3"},
		Log: filepath.Join(root, "fakepm.log"), State: filepath.Join(root, "fakepm.rpmdb")})
	h.load()
	return h
}

// load reads the settings as the agent will.
func (h *agentHost) load() { h.cfg = agenttest.Load(h.t, h.root, h.environ) }

func (h *agentHost) write(rel, content string) { agenttest.Write(h.t, h.root, rel, content) }

func (h *agentHost) path(rel string) string { return filepath.Join(h.root, rel) }

func (h *agentHost) setSpec(s fakeSpec) {
	h.t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		h.t.Fatal(err)
	}
	// Rename: a running agent process must never read half a file.
	tmp := h.specFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.specFile); err != nil {
		h.t.Fatal(err)
	}
}

func (h *agentHost) spec() fakeSpec { return (&fakePM{SpecFile: h.specFile}).spec() }

func (h *agentHost) editSpec(f func(*fakeSpec)) {
	s := h.spec()
	f(&s)
	h.setSpec(s)
}

// calls returns the fake's log lines, the first word of each.
func (h *agentHost) calls() []string {
	data, _ := os.ReadFile(h.spec().Log)
	var calls []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			calls = append(calls, strings.Fields(l)[0])
		}
	}
	return calls
}

// ledger is this host's <host>.txt.
func (h *agentHost) ledger(name string) string {
	data, _ := os.ReadFile(filepath.Join(h.root, "etc/opt/shop/hotfix", name))
	return strings.Join(strings.Fields(string(data)), " ")
}

// options is an in-process run with the fake, a fixed Wednesday, a sleeper that must not be
// called and a syslog that records.
func (h *agentHost) options(mode agent.Mode) agent.Options {
	return agent.Options{
		Config: h.cfg, Mode: mode, Environ: h.environ,
		Now: func() time.Time { return time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC) }, // a Wednesday
		Sleep: func(context.Context, time.Duration) error {
			h.t.Errorf("unexpected random wait")
			return nil
		},
		NewPM: func(cfg *sysconfig.Config, p agent.PMIO) (agent.PackageManager, error) {
			return &fakePM{SpecFile: h.specFile, cfg: cfg, io: p}, nil
		},
		Syslog: func(tag, line string, failed bool) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.syslog = append(h.syslog, fmt.Sprintf("%s failed=%v: %s", tag, failed, line))
			return nil
		},
	}
}

// run runs the agent in-process and returns its exit status and output.
func (h *agentHost) run(o agent.Options) (int, string, string) {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	o.Stdout, o.Stderr = &stdout, &stderr
	code := report(&stderr, agent.RunOnce(context.Background(), o))
	return code, stdout.String(), stderr.String()
}
