// Package applier puts a hotfix into a host's product tree and takes it out again: Host
// applies (backups first, then placing and removing, scripts, the health check, the ledger),
// resumes or rolls back an interrupted apply, rolls back and finalizes. It writes every step
// to its journal (hotfix/journal) before the product can see it. What the host's files say
// (applied, drifted, interrupted, unpacked) it reads through hotfix/state, and Host passes
// those reads on for its callers; what an apply would do is hotfix/dryrun's, which uses
// Host's checks (CheckPrereqs, CheckUnpack, CheckScripts). It never talks to yum, dnf or the
// network (the agent does that), and never imports the vendor side.
package applier

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// Host is one host of the installation as the applier sees it: its settings and where its
// output goes.
type Host struct {
	// Cfg is the settings as sysconfig.Load and Config.ResolvePaths give them: under -root,
	// the paths are taken inside the root already.
	Cfg *sysconfig.Config
	// Out receives what the install prints (scripts' output, progress); the install log gets
	// a copy.
	Out io.Writer
	// Environ is the environment that scripts and commands start from.
	Environ []string
	// StepHook, when set, is called after each durable step of an apply or rollback with a
	// short description; the crash tests use it to kill the process at every such point.
	StepHook func(step string)

	// HeldLock is the LOCK_TS that this process holds already, when it applies under it (the
	// agent's, around the applies it makes after dnf): the apply works under it, and its
	// install scripts get its file, as they get that of a lock the apply takes itself.
	HeldLock *lock.Lock

	// History, when set, is told of each apply, health check, rollback, recovery and
	// finalize when it ends (Event); the command line writes it to the host's history. It
	// must not fail or block the change.
	History func(Event)

	// tsToken is the token of the LOCK_TS this process holds, passed to scripts so that a
	// nested hotchain (a script that calls hotchain repo-file, say) works under it.
	tsToken string
	// tsFile is the open file of the LOCK_TS this process holds itself (nil when it works
	// under an inherited one): scripts get it, so that the lock stays held while a script
	// runs on after this process was killed.
	tsFile *os.File
}

func (h *Host) ledger() hotfix.Ledger { return state.Ledger(h.Cfg) }

func (h *Host) hostLedger() string { return hotfix.HostFile(h.Cfg.Hostname) }

// What the host's files say of its chain, as hotfix/state reads it.

// Ledger is this host's view of LEDGER_DIR.
func (h *Host) Ledger() hotfix.Ledger { return h.ledger() }

// Applied is the chain applied on this host, in order.
func (h *Host) Applied() ([]hotfix.Version, error) { return state.Applied(h.Cfg) }

// HotfixDir is where hotfix v is unpacked on this host.
func (h *Host) HotfixDir(v hotfix.Version) string { return state.HotfixDir(h.Cfg, v) }

// hotfixDir is HotfixDir resolved inside -root (state.ResolveHotfixDir): nothing of a
// hotfix is written or removed outside the root.
func (h *Host) hotfixDir(v hotfix.Version) (string, error) { return state.ResolveHotfixDir(h.Cfg, v) }

// ProductVersion is the installed product version (state.ProductVersion).
func (h *Host) ProductVersion(ctx context.Context) (hotfix.Version, error) {
	return state.ProductVersion(ctx, h.Cfg, h.Environ)
}

// Verify is state.Verify: the drift of what applied hotfixes own, sorted by path, and how
// many entries it checked.
func (h *Host) Verify() (drift []state.Drift, checked int, err error) { return state.Verify(h.Cfg) }

// Status is state.Read: the product version, the ledgers, interrupted applies and install
// logs.
func (h *Host) Status(ctx context.Context) (*state.Status, error) {
	return state.Read(ctx, h.Cfg, h.Environ)
}

// Unpacked is state.Unpacked: the hotfixes unpacked and never started on this host.
func (h *Host) Unpacked() ([]hotfix.Version, error) { return state.Unpacked(h.Cfg) }

// Rollout is state.ReadRollout: version.txt, finalized.txt and each secondary's ledger.
func (h *Host) Rollout() (*state.Rollout, error) { return state.ReadRollout(h.Cfg) }

// SplitPending is state.SplitPending: the pending hotfixes this host may install now, and
// those that wait for the alpha.
func (h *Host) SplitPending(pending []hotfix.Version) (now, waiting []hotfix.Version, err error) {
	return state.SplitPending(h.Cfg, pending)
}

// FinalizeReady is state.FinalizeReady: on the alpha, the hotfixes every secondary has
// applied and that wait to be finalized, and the first one blocked.
func (h *Host) FinalizeReady() (ready []hotfix.Version, blocked hotfix.Version, waitingFor []string, err error) {
	return state.FinalizeReady(h.Cfg)
}

// scripts runs this host's scripts, which get the LOCK_TS this process holds.
func (h *Host) scripts() script.Runner {
	return script.Runner{Cfg: h.Cfg, Environ: h.Environ, LockFile: h.tsFile}
}

// HasHealthChecks says whether applying d runs any health check.
func (h *Host) HasHealthChecks(d *hotfix.Dir) bool { return h.scripts().HasChecks(d) }

// HealthCheck runs the health checks after hotfix d's apply (d nil: after a whole run), as
// script.Runner.HealthCheck does: a *script.HealthError when a check still fails after the
// last try. env is the install scripts' environment.
func (h *Host) HealthCheck(ctx context.Context, d *hotfix.Dir, role sysconfig.Role, env []string, out io.Writer) error {
	return h.scripts().HealthCheck(ctx, d, role, env, out)
}

func (h *Host) step(what string) {
	if h.StepHook != nil {
		h.StepHook(what)
	}
}

func (h *Host) out() io.Writer {
	if h.Out == nil {
		return io.Discard
	}
	return h.Out
}

func (h *Host) getenv(key string) string {
	v, _ := sysconfig.LookupEnv(h.Environ, key)
	return v
}

// lockTS takes LOCK_TS, or works under it when the process that started this one holds it
// and said so in lock.EnvVar (the agent around dnf, `hotchain hold` around a patch).
func (h *Host) lockTS() (*lock.Lock, error) {
	l, err := lock.Acquire(h.Cfg.InRoot(h.Cfg.LockTS), h.getenv(lock.EnvVar))
	if err != nil {
		return nil, fmt.Errorf("take the install lock: %w", err)
	}
	h.tsToken, h.tsFile = l.Token(), l.File()
	if h.tsFile == nil && l.Inherited() && h.HeldLock != nil && h.HeldLock.Token() == l.Token() {
		h.tsFile = h.HeldLock.File()
	}
	return l, nil
}

// PrereqError says why hotfix Version cannot be applied on this host now.
type PrereqError struct {
	Version hotfix.Version
	Reason  string
	hint    string
}

func (e *PrereqError) Error() string {
	return fmt.Sprintf("hotfix %s cannot be applied on this host: %s", e.Version, e.Reason)
}

// Hint says what to do next.
func (e *PrereqError) Hint() string { return e.hint }

// CheckPatchesDir checks that a hotfix package that unpacks under dir (the PATCHES_DIR it was
// built for, as rpm sees it) unpacks where this host's PATCHES_DIR is, so that its %pre
// refuses it before rpm writes anything. Symlinks count: a PATCHES_DIR that is a symlink to
// dir, or the other way round, is the same place.
func (h *Host) CheckPatchesDir(v hotfix.Version, dir string) error {
	want := h.Cfg.PatchesDir
	if filepath.Clean(dir) == filepath.Clean(want) {
		return nil
	}
	// Both taken inside -root, as rpm takes the package's paths.
	if a, err := h.Cfg.Resolve(dir); err == nil {
		if b, err := h.Cfg.Resolve(want); err == nil && a == b {
			return nil
		}
	}
	return &PrereqError{v, fmt.Sprintf("the package unpacks into %s, but PATCHES_DIR on this host is %s", dir, want),
		fmt.Sprintf("rebuild the hotfix with hotchain build -patches-dir %s, or set PATCHES_DIR=%s in %s", want, dir, h.Cfg.File)}
}

// CheckPrereqs checks hotfix v's prerequisites (SPEC section 3): the product is at v's base
// version; this host's ledger holds v-1 (for v > 1) and not v; on a secondary, the
// installation ledger holds v (the alpha went first).
func (h *Host) CheckPrereqs(ctx context.Context, v hotfix.Version) error {
	return h.checkPrereqs(ctx, v, false)
}

// CheckUnpack is CheckPrereqs for a hotfix RPM's %pre, which runs before rpm unpacks the
// package: hotfix v-1 may also be unpacked and not applied yet (Unpacked), because the
// transaction installs the chain with the apply deferred and the agent, or the admin,
// applies each hotfix in chain order afterwards. Another base version, a gap in the chain
// and a hotfix applied already are refused as CheckPrereqs refuses them.
func (h *Host) CheckUnpack(ctx context.Context, v hotfix.Version) error {
	return h.checkPrereqs(ctx, v, true)
}

func (h *Host) checkPrereqs(ctx context.Context, v hotfix.Version, unpackedOK bool) error {
	pv, err := h.ProductVersion(ctx)
	if err != nil {
		return err
	}
	if !pv.Equal(v.Base()) {
		return &PrereqError{v, fmt.Sprintf("it is for %s %s, the installed version is %s", h.Cfg.Product, v.Base(), pv),
			fmt.Sprintf("install hotfixes of the %s chain (hotchain repo-file -base-version %s points the repository there)", pv, pv)}
	}
	applied, err := h.Applied()
	if err != nil {
		return err
	}
	if state.Contains(applied, v) {
		return &PrereqError{v, "it is applied already (" + filepath.Join(h.ledger().Dir, h.hostLedger()) + ")",
			"to apply it again anyway, run hotchain apply -nocheck DIR"}
	}
	if prev, ok := v.Previous(); ok && !state.Contains(applied, prev) && !(unpackedOK && state.NeverStarted(h.Cfg, prev)) {
		return &PrereqError{v, fmt.Sprintf("hotfix %s is not applied yet", prev),
			fmt.Sprintf("apply %s first: hotfixes install in chain order", prev)}
	}
	if h.Cfg.HostRole == sysconfig.RoleSecondary {
		ok, err := h.ledger().Has(hotfix.InstallationLedger, v)
		if err != nil {
			return err
		}
		if !ok {
			return &PrereqError{v, "the alpha host has not applied it yet (" + filepath.Join(h.ledger().Dir, hotfix.InstallationLedger) + ")",
				"apply it on the alpha host first; secondaries follow"}
		}
	}
	return nil
}
