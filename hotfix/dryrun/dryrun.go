// Package dryrun says what an apply would do on this host now, and writes nothing: the
// files it would replace, add and remove, the drift it would overwrite, the scripts and
// checks it would run, the space it needs, and every reason it would refuse (Plan, and its
// text for an admin). It plans with the apply's own planner (hotfix/plan) and checks with
// the applier's own prerequisite and script checks, so that it agrees with the apply. It
// only reads: it must not write a file, take a lock or run a script.
package dryrun

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/hotfix/script"
	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// A dry run is what an apply would do, planned by the apply's own planner (plan) and checked
// by its own prerequisite checks, with nothing written: no lock file, no install log, no
// journal, no backup, nothing in PATCHES_DIR or LEDGER_DIR. It only reads (stat, readdir,
// the recorded SHA-256s of earlier hotfixes against the files, statfs).

// Plan is what applying one hotfix would do on this host.
type Plan struct {
	Version string `json:"version"`
	Dir     string `json:"dir"` // the hotfix directory the apply uses, as this process sees it
	Host    string `json:"host"`
	Role    string `json:"role"`
	// Refusals are why the apply would stop before it writes anything; none: it would go ahead.
	Refusals []Refusal `json:"refusals"`
	// Resume is the state an interrupted apply of this hotfix stopped in: the apply finishes
	// it, from its journal, instead of planning afresh (and checks no prerequisites).
	Resume string `json:"resume,omitempty"`
	// Again: the hotfix was applied here before; the apply (with -nocheck) undoes that
	// apply first and applies afresh.
	Again bool `json:"again,omitempty"`
	// Unplanned: the plan itself refused the hotfix (Refusals say why), so no file is listed.
	Unplanned bool       `json:"unplanned,omitempty"`
	Replace   []PlanFile `json:"replace"`
	Add       []PlanFile `json:"add"`
	Mkdir     []string   `json:"mkdir"`
	// Remove is what the apply removes from the product (FileRemovals), as the host sees
	// it; a directory ends in '/'.
	Remove []string `json:"remove"`
	// AlreadyAbsent is what FileRemovals removes that is absent already: nothing to do.
	AlreadyAbsent []string `json:"already_absent,omitempty"`
	// RemoveNotMapped is what FileRemovals removes from change trees that CHANGE_TREES does
	// not map on this host (tree/path, as FileRemovals says): left out, as such a tree's
	// entries are.
	RemoveNotMapped []string    `json:"remove_not_mapped,omitempty"`
	Drift           []PlanDrift `json:"drift"`
	// DriftUnknown says why the drift could not be checked (an applied hotfix without its
	// apply record, say); "" when it was.
	DriftUnknown string `json:"drift_unknown,omitempty"`
	// Install is the Install/ scripts this host's role runs during the apply, in order;
	// Finalize the -final ones the alpha runs once every secondary has the hotfix.
	Install  []string `json:"install_scripts"`
	Finalize []string `json:"finalize_scripts,omitempty"`
	// Checks are the health checks after the apply, in order: Check/ scripts, then HEALTH_CMD.
	Checks []string `json:"checks"`
	// Restart is what the hotfix's restart.txt asks to restart after it: "services NAME...",
	// "product" or "reboot"; "" for nothing (RESTART_CMD runs it, else it is recorded).
	Restart string `json:"restart,omitempty"`
	Space   Space  `json:"space"`

	removedLinks map[string]bool // entries of Remove that are symlinks, for WriteText
}

// Refusal is one reason an apply would refuse, with the next step.
type Refusal struct {
	Reason string `json:"reason"`
	Hint   string `json:"hint,omitempty"`
}

// PlanFile is a file or symlink the apply places.
type PlanFile struct {
	Path string `json:"path"` // as the host sees it
	Kind string `json:"kind"` // file or link
	Size int64  `json:"size"` // of the hotfix's entry
	// Was is what is there now when it is not what the hotfix places (a symlink replaced by
	// a file, say); By names the hotfix earlier in the same run that places it first.
	Was string `json:"was,omitempty"`
	By  string `json:"by,omitempty"`

	sha256, link string // what the hotfix places, for the plans after it in a run
}

// PlanDrift is a product file that differs from what an earlier hotfix recorded, and whether
// this apply overwrites it (the backup keeps the changed file; a rollback puts it back).
type PlanDrift struct {
	state.Drift
	Overwritten bool `json:"overwritten"`
}

// Space is the disk space the apply needs, against what is free, counted as the apply's own
// check counts it before its first write (plan.SpaceNeeds): on each file system, the bytes of the
// files the hotfix places (written beside their targets, then renamed over them; the
// replaced files stay as backups), a block for each entry it creates, the journal in the
// hotfix directory, and the backups that must be copied. A backup is a hard link, which takes
// no space, when the replaced entry is on the hotfix directory's file system; otherwise it is
// a copy of the entry's size.
type Space struct {
	BackupDir   string `json:"backup_dir"`
	BackupsMade bool   `json:"backups_made,omitempty"` // by the interrupted apply that is resumed
	// NotCounted says why no space is counted (a resumed apply, which does not check it either).
	NotCounted  string   `json:"not_counted,omitempty"`
	Linked      int      `json:"backup_linked"` // entries backed up by a hard link
	Copied      int      `json:"backup_copied"` // entries backed up by a copy
	CopyBytes   int64    `json:"backup_copy_bytes"`
	UnpackBytes int64    `json:"unpack_bytes,omitempty"` // a tarball's hotfix, unpacked into PATCHES_DIR first
	FileSystems []FSNeed `json:"file_systems"`

	backupDev uint64 // the device of the hotfix directory's file system
}

// FSNeed is what the apply writes to one file system.
type FSNeed struct {
	Path       string `json:"path"`    // the directory measured, as the host sees it
	Bytes      int64  `json:"bytes"`   // content written there
	Entries    int64  `json:"entries"` // entries created there
	Need       int64  `json:"need"`    // Bytes plus a block for each entry
	Free       int64  `json:"free"`    // available there (statfs f_bavail)
	InodesFree int64  `json:"inodes_free,omitempty"`

	dev uint64
}

// Enough says whether the free space covers the need on every file system.
func (s Space) Enough() bool {
	for _, f := range s.FileSystems {
		if f.Need > f.Free {
			return false
		}
	}
	return true
}

// Options change what a dry run checks.
type Options struct {
	// NoCheck skips the prerequisites, as applier.ApplyOptions.NoCheck does.
	NoCheck bool
	// Tarball: dir is a private unpack of a verified tarball, not the hotfix directory; the
	// apply would unpack it into PATCHES_DIR (HotfixDir) first.
	Tarball bool
}

// Run says what h.Apply(ctx, dir) would do now, and writes nothing. An error is returned
// only when dir cannot be read as a hotfix; what would make the apply refuse is in
// Plan.Refusals.
func Run(ctx context.Context, h *applier.Host, dir string, opt Options) (*Plan, error) {
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	drift, _, derr := h.Verify()
	return planOne(ctx, h, d, opt, drift, derr, nil, nil)
}

// Chain is Run for hotfixes unpacked and waiting to be applied in chain order by one
// run (the agent after dnf): each is planned on the product as the ones before it leave it,
// as far as files go (an entry an earlier one places counts as there), and its previous
// hotfix may be unpacked rather than applied (CheckUnpack).
func Chain(ctx context.Context, h *applier.Host, dirs []string) ([]*Plan, error) {
	drift, _, derr := h.Verify()
	var plans []*Plan
	placed := map[string]plan.PlacedBy{}
	for i, dir := range dirs {
		d, err := hotfix.ReadDir(dir)
		if err != nil {
			return plans, err
		}
		p, err := planOne(ctx, h, d, Options{}, drift, derr, func(ctx context.Context, v hotfix.Version) error {
			if i == 0 {
				return h.CheckPrereqs(ctx, v)
			}
			return h.CheckUnpack(ctx, v)
		}, placed)
		if err != nil {
			return plans, err
		}
		overlay(h.Cfg, p, placed)
		for _, f := range append(slices.Clone(p.Replace), p.Add...) {
			placed[f.Path] = plan.PlacedBy{Version: p.Version, Size: f.Size, Kind: f.Kind, SHA256: f.sha256, Link: f.link}
		}
		for _, m := range p.Mkdir {
			placed[m] = plan.PlacedBy{Version: p.Version, Kind: journal.KindDir}
		}
		for _, r := range p.Remove {
			placed[strings.TrimSuffix(r, "/")] = plan.PlacedBy{Version: p.Version, Gone: true}
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// overlay moves what an earlier hotfix of the run adds from Add to Replace, and drops
// directories it creates; the backup of such an entry is the earlier hotfix's file. What an
// earlier hotfix removes and this one places is added, not replaced.
func overlay(cfg *sysconfig.Config, p *Plan, placed map[string]plan.PlacedBy) {
	var add, replace []PlanFile
	for _, f := range p.Replace {
		if by, ok := placed[f.Path]; ok && by.Gone {
			f.Was = ""
			add = append(add, f)
			continue
		}
		replace = append(replace, f)
	}
	p.Replace = replace
	for _, f := range p.Add {
		if by, ok := placed[f.Path]; ok && by.Kind != journal.KindDir && !by.Gone {
			f.By = by.Version
			// Its backup is the earlier hotfix's entry, linked when it can be.
			if p.Space.NotCounted == "" {
				dev, err := plan.Device(filepath.Dir(cfg.InRoot(f.Path)))
				if err == nil && dev == p.Space.backupDev {
					p.Space.Linked++
				} else {
					p.Space.Copied++
					p.Space.CopyBytes += by.Size
					for i := range p.Space.FileSystems {
						if p.Space.FileSystems[i].dev == p.Space.backupDev {
							p.Space.FileSystems[i].Bytes += by.Size
							p.Space.FileSystems[i].Need += by.Size
						}
					}
				}
			}
			p.Replace = append(p.Replace, f)
			continue
		}
		add = append(add, f)
	}
	p.Add = add
	slices.SortFunc(p.Replace, func(a, b PlanFile) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(p.Add, func(a, b PlanFile) int { return strings.Compare(a.Path, b.Path) })
	p.Mkdir = slices.DeleteFunc(p.Mkdir, func(m string) bool { by, ok := placed[m]; return ok && !by.Gone })
}

// planOne plans d; drift and driftErr are what Verify gave; earlier is what the hotfixes
// before it in a run leave (Chain), nil for one hotfix.
func planOne(ctx context.Context, h *applier.Host, d *hotfix.Dir, opt Options, drift []state.Drift, driftErr error, prereqs func(context.Context, hotfix.Version) error, earlier map[string]plan.PlacedBy) (*Plan, error) {
	p := &Plan{Version: d.Version.String(), Dir: d.Path, Host: h.Cfg.Hostname, Role: string(h.Cfg.HostRole),
		Refusals: []Refusal{}, Replace: []PlanFile{}, Add: []PlanFile{}, Mkdir: []string{}, Remove: []string{},
		Drift: []PlanDrift{}, Install: []string{}, Checks: []string{}, Space: Space{FileSystems: []FSNeed{}}}
	refuse := func(err error) {
		p.Refusals = append(p.Refusals, Refusal{Reason: err.Error(), Hint: hint.Of(err)})
	}
	if prereqs == nil {
		prereqs = h.CheckPrereqs
	}
	// The checks Apply makes before it takes the lock, in its order.
	if d.HasFilelist {
		if err := d.CheckFilelist(); err != nil {
			refuse(err)
		}
	}
	if r, err := d.Restart(); err != nil {
		refuse(err)
	} else if r.Kind != hotfix.RestartNone {
		p.Restart = strings.TrimSpace(r.Kind + " " + strings.Join(r.Services, " "))
	}
	want, err := state.ResolveHotfixDir(h.Cfg, d.Version)
	if err != nil {
		return nil, err
	}
	if opt.Tarball {
		p.Dir = want
	} else if d.Path != want {
		refuse(hint.With(fmt.Errorf("hotfix %s is in %s, not in %s", d.Version, d.Path, h.HotfixDir(d.Version)),
			"unpack it into PATCHES_DIR under that name (hotchain apply TARBALL does), then apply it from there"))
	}
	var ops []journal.Op
	j, jerr := journal.Read(journal.Path(want, h.Cfg.Hostname))
	switch {
	case jerr == nil && j.State != journal.StateDone && j.State != journal.StateRollback:
		// Resumed from its journal: no prerequisites, no new plan.
		p.Resume = j.State
		ops = j.Ops
	default:
		if jerr == nil && j.State == journal.StateDone {
			p.Again = true
		}
		if !opt.NoCheck {
			if err := prereqs(ctx, d.Version); err != nil {
				refuse(err)
			}
		}
		if err := h.CheckScripts(d); err != nil {
			refuse(err)
		}
		var perr error
		if ops, _, perr = plan.Over(h.Cfg, d, earlier); perr != nil {
			refuse(perr)
			p.Unplanned = true
		} else if p.Again {
			// The undo first puts the product back as the journal found it: the journal's
			// entries, with what was there before, are what the apply then places.
			ops = j.Ops
		}
	}
	// Under the lock, Apply refuses while another hotfix of the chain is interrupted.
	for _, u := range state.Interrupted(h.Cfg) {
		if uv, err := hotfix.ParseHotfixVersion(u.Version); err == nil && !uv.Base().Equal(d.Version.Base()) {
			continue
		}
		if u.Version != d.Version.String() {
			refuse(hint.With(fmt.Errorf("hotfix %s was interrupted (state %s, %s): finish it or roll it back before hotfix %s", u.Version, u.State, u.Journal, d.Version),
				fmt.Sprintf("hotchain apply %s to finish it, or hotchain rollback %s", filepath.Dir(h.Cfg.InRoot(u.Journal)), u.Version)))
		}
	}
	if held, err := lock.IsLocked(h.Cfg.InRoot(h.Cfg.LockTS)); err == nil && held && getenv(h, lock.EnvVar) == "" {
		refuse(hint.With(fmt.Errorf("another install or rollback holds the install lock %s now", h.Cfg.LockTS),
			"try again when it has finished (hotchain status says what runs)"))
	}

	touched := map[string]bool{}
	for _, r := range plan.UnmappedRemovals(h.Cfg, d) {
		p.RemoveNotMapped = append(p.RemoveNotMapped, r.Path)
	}
	for _, o := range ops {
		touched[o.Target] = true
		switch {
		case o.Remove && o.Existed == "":
			p.AlreadyAbsent = append(p.AlreadyAbsent, o.Target)
		case o.Remove && o.Kind == journal.KindDir:
			p.Remove = append(p.Remove, o.Target+"/")
		case o.Remove:
			p.Remove = append(p.Remove, o.Target)
			if o.Kind == journal.KindLink {
				if p.removedLinks == nil {
					p.removedLinks = map[string]bool{}
				}
				p.removedLinks[o.Target] = true
			}
		case o.Kind == journal.KindDir && o.Existed == "":
			p.Mkdir = append(p.Mkdir, o.Target)
		case o.Kind == journal.KindDir:
		default:
			f := PlanFile{Path: o.Target, Kind: o.Kind, Size: sizeOf(d, o), sha256: o.SHA256, link: o.Link}
			if o.Existed == "" {
				p.Add = append(p.Add, f)
				continue
			}
			if o.Existed != o.Kind {
				f.Was = o.Existed
			}
			p.Replace = append(p.Replace, f)
		}
	}
	for _, dr := range drift {
		p.Drift = append(p.Drift, PlanDrift{dr, touched[dr.Path]})
	}
	if driftErr != nil {
		p.DriftUnknown = driftErr.Error()
	}

	// A resumed apply keeps the role it began with and skips the scripts it ran.
	role, done := h.Cfg.HostRole, map[string]bool{}
	if p.Resume != "" {
		if j.Role != "" {
			role = sysconfig.Role(j.Role)
		}
		for _, s := range j.ScriptsDone {
			done[s] = true
		}
	}
	for _, s := range script.For(role, script.PhaseInstall, script.Install(d)) {
		if !done[s] && (p.Resume == "" || p.Resume == journal.StateBackup || p.Resume == journal.StateApply || p.Resume == journal.StateScripts) {
			p.Install = append(p.Install, hotfix.InstallDir+"/"+s)
		}
	}
	for _, s := range script.For(role, script.PhaseFinalize, script.Install(d)) {
		p.Finalize = append(p.Finalize, hotfix.InstallDir+"/"+s)
	}
	if checks, err := (script.Runner{Cfg: h.Cfg, Environ: h.Environ}).Checks(d, role); err == nil && checks != nil {
		p.Checks = checks
	}
	if !p.Unplanned {
		if err := space(h.Cfg, d, p, ops, want, opt.Tarball, refuse); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// space fills p.Space with plan.SpaceNeeds, which the apply's own check uses; a need the apply
// would refuse is a refusal.
func space(cfg *sysconfig.Config, d *hotfix.Dir, p *Plan, ops []journal.Op, hotfixDir string, tarball bool, refuse func(error)) error {
	s := &p.Space
	s.BackupDir = plan.HostView(cfg, journal.BackupDir(hotfixDir, cfg.Hostname))
	if p.Resume != "" {
		s.BackupsMade = p.Resume != journal.StateBackup
		s.NotCounted = "a resumed apply goes on where it stopped, and does not check the space"
		return nil
	}
	var unpack int64
	if tarball {
		for _, e := range d.Entries {
			if !e.IsDir() {
				unpack += e.Size
			}
		}
		s.UnpackBytes = unpack
	}
	needs, bc, err := plan.SpaceNeeds(cfg, d, ops, hotfixDir, unpack)
	if err != nil {
		return err
	}
	dev, err := plan.Device(hotfixDir)
	if err != nil {
		return err
	}
	s.backupDev = dev
	s.Linked, s.Copied, s.CopyBytes = bc.Linked, bc.Copied, int64(bc.CopyBytes)
	for _, n := range needs {
		if err := n.Check(); err != nil {
			refuse(err)
		}
		s.FileSystems = append(s.FileSystems, FSNeed{Path: plan.HostView(cfg, n.Path), Bytes: int64(n.Bytes), Entries: int64(n.Entries),
			Need: int64(n.Need), Free: int64(n.Free), InodesFree: int64(n.InodesFree), dev: n.Dev})
	}
	return nil
}

func sizeOf(d *hotfix.Dir, o journal.Op) int64 {
	rel := o.Tree + "/" + o.Rel
	i, ok := slices.BinarySearchFunc(d.Entries, rel, func(e hotfix.Entry, rel string) int { return strings.Compare(e.Rel, rel) })
	if !ok {
		return 0
	}
	return d.Entries[i].Size
}

func getenv(h *applier.Host, key string) string {
	v, _ := sysconfig.LookupEnv(h.Environ, key)
	return v
}
