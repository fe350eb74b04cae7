package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/fileops"
	"github.com/hotchain/hotchain/sysconfig"
)

func newHost(e *env, cfg *sysconfig.Config) *applier.Host {
	return &applier.Host{Cfg: cfg, Out: e.stdout, Environ: e.environ,
		History: newHistory(cfg, e.environ, e.stderr, "").hotfixEvent}
}

func runApply(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "apply", "DIR|TARBALL", `Applies one hotfix to this host: the unpacked hotfix directory DIR (what the RPM's %post
runs), or a signed hotfix tarball, which is checked against TARBALL_KEY, unpacked into
PATCHES_DIR and applied. An interrupted apply of the same hotfix is resumed.`)
	nocheck := fs.Bool("nocheck", false, "skip the prerequisites (product version, chain order, alpha first): force a re-installation")
	dryRun := fs.Bool("dry-run", false, "write nothing: say whether the apply would go ahead and list the files, drift, scripts, checks and disk space")
	asJSON := fs.Bool("json", false, "with -dry-run: print JSON for programs")
	scriptlet := fs.Bool("scriptlet", false, "run as the RPM's %post: in rpm's scriptlet sandbox (no network, private /tmp), leave the hotfix unpacked and say how to apply it")
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("apply takes one hotfix directory or tarball")}
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	dir, opt := fs.Arg(0), applier.ApplyOptions{NoCheck: *nocheck}
	if *dryRun {
		if *scriptlet {
			return usageError{errors.New("-dry-run and -scriptlet exclude each other")}
		}
		return applyDryRun(ctx, e, cfg, dir, *nocheck, *asJSON)
	}
	if *asJSON {
		return usageError{errors.New("-json goes with -dry-run")}
	}
	if *scriptlet {
		if why := scriptletSandbox(); why != "" {
			fmt.Fprintf(e.stderr, "hotchain: %s: not applied now: %s, and its install scripts need the network and the real /tmp\n"+
				"hint: it stays unpacked; the next agent run applies it, or now: hotchain agent -console (or hotchain apply %s)\n", dir, why, dir)
			return nil
		}
	}
	if tarball := dir; strings.HasSuffix(tarball, ".tar.gz") {
		// Unpack says what the unpack made, which a refused apply removes again.
		dir, opt.Unpacked, err = fileops.Unpack(cfg.InRoot(cfg.PatchesDir), func() (string, error) { return unpackVerified(cfg, tarball) })
		if err != nil {
			return err
		}
	}
	err = newHost(e, cfg).Apply(ctx, dir, opt)
	if err == nil {
		err = restartAfterApply(ctx, e, cfg, dir, *scriptlet) // restart.go
	}
	return afterChange(e, cfg, err) // metrics.go
}

func runPrereq(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "prereq", "VERSION", `Checks that hotfix VERSION can be applied on this host now (SPEC section 3): the product is
at its base version, the previous hotfix is applied and this one is not, and on a secondary
host the alpha applied it first. The RPM's %pre runs it, before rpm unpacks anything; exit
status 1 stops the package. The previous hotfix may also be unpacked and not applied yet (an
install with the apply deferred, which applies the chain in order afterwards).`)
	patchesDir := fs.String("patches-dir", "", "the PATCHES_DIR the package was built for: refuse it unless it is this host's")
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("prereq takes one hotfix version")}
	}
	v, err := hotfix.ParseHotfixVersion(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	h := newHost(e, cfg)
	if *patchesDir != "" {
		if err := h.CheckPatchesDir(v, *patchesDir); err != nil {
			return err
		}
	}
	return h.CheckUnpack(ctx, v)
}

// optionalVersion parses the one optional VERSION argument.
func optionalVersion(args []string, cmd string) (hotfix.Version, error) {
	switch len(args) {
	case 0:
		return nil, nil
	case 1:
		v, err := hotfix.ParseHotfixVersion(args[0])
		if err != nil {
			return nil, usageError{err}
		}
		return v, nil
	}
	return nil, usageError{fmt.Errorf("%s takes at most one hotfix version", cmd)}
}

func runFinalize(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "finalize", "[VERSION]", `Runs the -final install scripts of hotfix VERSION, or of every applied hotfix not yet
finalized, on the alpha host of a distributed installation, once each. The agent on the alpha
runs it by itself once every host in SECONDARY_HOSTS has applied the hotfix.`)
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v, err := optionalVersion(fs.Args(), "finalize")
	if err != nil {
		return err
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	done, err := newHost(e, cfg).Finalize(ctx, v, e.stdout)
	if err == nil && len(done) == 0 && v == nil {
		fmt.Fprintln(e.stdout, "nothing to finalize")
	}
	return err
}

func runRollback(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rollback", "[VERSION]", `Undoes the newest applied hotfix on this host (or VERSION, which must be the newest: hotfixes
roll back in chain order), restoring the files it replaced and removing the ones it added.
An interrupted apply counts as the newest. The RPM's %preun runs it on erase.`)
	settings := loadSettings(e, fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v, err := optionalVersion(fs.Args(), "rollback")
	if err != nil {
		return err
	}
	cfg, err := settings()
	if err != nil {
		return err
	}
	err = afterChange(e, cfg, newHost(e, cfg).Rollback(ctx, v, e.stdout)) // metrics.go
	if errors.Is(err, applier.ErrNotApplied) {
		// Erasing a package that was installed with <PRODUCT>_DO_PATCH=0 must not fail.
		fmt.Fprintf(e.stdout, "%v: nothing to roll back\n", err)
		return nil
	}
	return err
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func listOrNone(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, " ")
}

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "verify", "", `Compares every product file that applied hotfixes own with the SHA-256 the newest of them
wrote, and lists the files that changed or went missing, and those a hotfix removed
(FileRemovals) that are present again. Exit status 1 when there is drift.`)
	asJSON := fs.Bool("json", false, "print JSON for programs")
	settings := loadSettings(e, fs)
	cfg, err := parseSettingsOnly(fs, args, settings)
	if err != nil {
		return err
	}
	drift, checked, err := newHost(e, cfg).Verify()
	if err != nil {
		return err
	}
	if *asJSON {
		if drift == nil {
			drift = []state.Drift{}
		}
		if err := json.NewEncoder(e.stdout).Encode(map[string]any{"checked": checked, "drift": drift}); err != nil {
			return err
		}
	} else {
		for _, d := range drift {
			if d.Problem == state.ProblemPresentAgain {
				fmt.Fprintf(e.stdout, "%s %s (removed by hotfix %s)\n", d.Problem, d.Path, d.Version)
				continue
			}
			fmt.Fprintf(e.stdout, "%-8s %s (hotfix %s)\n", d.Problem, d.Path, d.Version)
		}
		fmt.Fprintf(e.stdout, "%d files checked, %d drifted\n", checked, len(drift))
	}
	if len(drift) > 0 {
		return withHint(fmt.Errorf("%d product files differ from what the hotfixes installed", len(drift)),
			"a drifted file was edited after the hotfix; compare it with the hotfix directory under PATCHES_DIR, or re-apply with hotchain apply -nocheck DIR; a file present again was removed by the hotfix (its FileRemovals): remove it again unless it belongs there")
	}
	return nil
}
