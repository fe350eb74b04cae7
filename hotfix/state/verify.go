package state

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"syscall"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/hotfix/plan"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// Drift is a product file that no longer matches what the newest hotfix that wrote it put
// there.
type Drift struct {
	Path    string `json:"path"` // as the host sees it
	Version string `json:"version"`
	Problem string `json:"problem"` // "changed", "missing", "replaced by a <kind>" or ProblemPresentAgain
}

// ProblemPresentAgain is the drift of an entry that a hotfix removed (FileRemovals) and that
// is there again.
const ProblemPresentAgain = "present again"

// Verify compares every file and symlink that applied hotfixes own with what the newest of
// them wrote (its recorded SHA-256 or link target). An entry the newest of them removed
// (FileRemovals) is owned too: it drifted when it is there again, whatever it is. It
// returns the drift, sorted by path, and how many entries it checked.
func Verify(cfg *sysconfig.Config) (drift []Drift, checked int, err error) {
	applied, err := Applied(cfg)
	if err != nil {
		return nil, 0, err
	}
	type owned struct {
		v string
		o journal.Op
	}
	owner := map[string]owned{}
	for _, v := range applied {
		dir, err := ResolveHotfixDir(cfg, v)
		if err != nil {
			return nil, 0, err
		}
		p := journal.Path(dir, cfg.Hostname)
		j, err := journal.Read(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, hint.With(fmt.Errorf("hotfix %s has no apply record (%s)", v, p),
				"its hotfix directory was removed or it was applied without hotchain; reinstall the hotfix package to restore the directory")
		}
		if err != nil {
			return nil, 0, err
		}
		for _, o := range j.Ops {
			switch {
			case o.Remove || o.Kind != journal.KindDir:
				owner[o.Target] = owned{v.String(), o}
			case owner[o.Target].o.Remove:
				// A later hotfix places entries in a directory an earlier one removed: it
				// is there on purpose again.
				delete(owner, o.Target)
			}
		}
	}
	for target, ow := range owner {
		checked++
		full := cfg.InRoot(target)
		fi, err := os.Lstat(full)
		if ow.o.Remove {
			switch {
			case err == nil:
				drift = append(drift, Drift{target, ow.v, ProblemPresentAgain})
			case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
				return nil, 0, err
			}
			continue
		}
		if errors.Is(err, os.ErrNotExist) {
			drift = append(drift, Drift{target, ow.v, "missing"})
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if k := plan.KindOfInfo(fi); k != ow.o.Kind {
			drift = append(drift, Drift{target, ow.v, "replaced by a " + plan.KindText(k)})
			continue
		}
		switch ow.o.Kind {
		case journal.KindLink:
			if l, err := os.Readlink(full); err != nil || l != ow.o.Link {
				drift = append(drift, Drift{target, ow.v, "changed"})
			}
		case journal.KindFile:
			sum, err := hotfix.FileSHA256(full)
			if err != nil {
				return nil, 0, err
			}
			if sum != ow.o.SHA256 {
				drift = append(drift, Drift{target, ow.v, "changed"})
			}
		}
	}
	sort.Slice(drift, func(i, j int) bool { return drift[i].Path < drift[j].Path })
	return drift, checked, nil
}
