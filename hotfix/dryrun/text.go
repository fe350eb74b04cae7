package dryrun

import (
	"fmt"
	"io"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/script"
)

// WriteText prints the plan for an admin: whether the apply would go ahead, the files it
// replaces, adds and removes, the drifted files, the scripts and checks in order, and the space.
func (p *Plan) WriteText(w io.Writer) {
	fmt.Fprintf(w, "hotfix %s on %s (%s), from %s\n", p.Version, p.Host, p.Role, p.Dir)
	switch {
	case len(p.Refusals) > 0:
		fmt.Fprintln(w, "would apply:  NO, it would refuse:")
		for _, r := range p.Refusals {
			fmt.Fprintf(w, "  %s\n", indentMore(r.Reason, "  "))
			if r.Hint != "" {
				fmt.Fprintf(w, "  hint: %s\n", r.Hint)
			}
		}
	case p.Resume != "":
		fmt.Fprintf(w, "would apply:  yes, it finishes an interrupted apply (stopped in state %s) from its journal\n", p.Resume)
	case p.Again:
		fmt.Fprintln(w, "would apply:  yes, again: it undoes the earlier apply of this hotfix first")
	default:
		fmt.Fprintln(w, "would apply:  yes")
	}
	if p.Unplanned {
		fmt.Fprintln(w, "files:        not listed: the plan itself refused the hotfix (above)")
	}
	fmt.Fprintf(w, "replace (%d):\n", len(p.Replace))
	for _, f := range p.Replace {
		var notes []string
		if f.Kind == journal.KindLink {
			notes = append(notes, "symlink")
		}
		if f.Was != "" {
			notes = append(notes, "now a "+f.Was)
		}
		if f.By != "" {
			notes = append(notes, "placed by "+f.By+" earlier in this run")
		}
		fmt.Fprintf(w, "  %s%s\n", hotfix.ShownName(f.Path), paren(notes))
	}
	fmt.Fprintf(w, "add (%d):\n", len(p.Add))
	for _, f := range p.Add {
		var notes []string
		if f.Kind == journal.KindLink {
			notes = append(notes, "symlink")
		}
		fmt.Fprintf(w, "  %s%s\n", hotfix.ShownName(f.Path), paren(notes))
	}
	fmt.Fprintf(w, "create directories (%d):\n", len(p.Mkdir))
	for _, m := range p.Mkdir {
		fmt.Fprintf(w, "  %s/\n", hotfix.ShownName(m))
	}
	fmt.Fprintf(w, "remove (%d):\n", len(p.Remove))
	for _, r := range p.Remove {
		note := ""
		if p.removedLinks[r] {
			note = " (symlink)"
		}
		fmt.Fprintf(w, "  %s%s\n", hotfix.ShownName(r), note)
	}
	if len(p.AlreadyAbsent) > 0 {
		fmt.Fprintf(w, "already absent, nothing to remove (%d):\n", len(p.AlreadyAbsent))
		for _, r := range p.AlreadyAbsent {
			fmt.Fprintf(w, "  %s\n", hotfix.ShownName(r))
		}
	}
	if len(p.RemoveNotMapped) > 0 {
		fmt.Fprintf(w, "not removed, change tree not mapped by CHANGE_TREES on this host (%d):\n", len(p.RemoveNotMapped))
		for _, r := range p.RemoveNotMapped {
			fmt.Fprintf(w, "  %s\n", hotfix.ShownName(r))
		}
	}
	if p.DriftUnknown != "" {
		fmt.Fprintf(w, "drifted from what earlier hotfixes wrote: not checked: %s\n", p.DriftUnknown)
	} else {
		fmt.Fprintf(w, "drifted from what earlier hotfixes wrote (%d):\n", len(p.Drift))
	}
	for _, dr := range p.Drift {
		what := "not touched by this hotfix"
		if dr.Overwritten {
			what = "OVERWRITTEN by this apply: the local change is lost from the product (the backup keeps it; a rollback puts it back)"
		}
		fmt.Fprintf(w, "  %s: %s since %s: %s\n", hotfix.ShownName(dr.Path), dr.Problem, dr.Version, what)
	}
	fmt.Fprintf(w, "install scripts for role %s, in order (%d):\n", p.Role, len(p.Install))
	for _, s := range p.Install {
		fmt.Fprintf(w, "  %s\n", hotfix.ShownName(s))
	}
	if len(p.Finalize) > 0 {
		fmt.Fprintf(w, "finalize scripts, once every secondary has it (%d):\n", len(p.Finalize))
		for _, s := range p.Finalize {
			fmt.Fprintf(w, "  %s\n", hotfix.ShownName(s))
		}
	}
	fmt.Fprintf(w, "health checks after the apply, in order (%d):\n", len(p.Checks))
	for _, c := range p.Checks {
		if strings.HasPrefix(c, script.CheckDir+"/") {
			fmt.Fprintf(w, "  %s\n", hotfix.ShownName(c))
		} else {
			fmt.Fprintf(w, "  HEALTH_CMD %s\n", c)
		}
	}
	if p.Restart != "" {
		fmt.Fprintf(w, "restart after the apply (restart.txt): %s\n", p.Restart)
	}
	s := p.Space
	switch {
	case s.BackupsMade:
		fmt.Fprintf(w, "backups in %s: made already, by the interrupted apply\n", s.BackupDir)
	case s.NotCounted == "":
		fmt.Fprintf(w, "backups in %s: %d hard links (no space), %d copies of %s\n", s.BackupDir, s.Linked, s.Copied, bytesText(s.CopyBytes))
	}
	if s.NotCounted != "" {
		fmt.Fprintf(w, "space: not counted: %s\n", s.NotCounted)
	}
	if s.UnpackBytes > 0 {
		fmt.Fprintf(w, "unpacked hotfix in PATCHES_DIR: %s\n", bytesText(s.UnpackBytes))
	}
	for _, f := range s.FileSystems {
		fmt.Fprintf(w, "space on the file system of %s: needs %s (%d bytes in %d entries, a block each), %s free%s\n",
			f.Path, bytesText(f.Need), f.Bytes, f.Entries, bytesText(f.Free), short(f.Need, f.Free))
	}
}

func paren(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + ")"
}

func indentMore(s, by string) string { return strings.ReplaceAll(s, "\n", "\n"+by) }

func short(need, free int64) string {
	if need > free {
		return ": NOT ENOUGH"
	}
	return ""
}

// bytesText is n in bytes below 1 KiB, else in the largest binary unit that keeps it >= 1.
func bytesText(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	f, u := float64(n)/1024, 0
	for f >= 1024 && u < len(units)-1 {
		f, u = f/1024, u+1
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}
