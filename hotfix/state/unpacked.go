package state

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/sysconfig"
)

// A hotfix is "unpacked, not applied" when its RPM put the directory into PATCHES_DIR but
// this host never began to apply it: the agent installs with the apply deferred
// (<PRODUCT>_DO_PATCH=0) and applies each hotfix itself after dnf returns, and a %post that
// runs without network or with a private /tmp (rpm 4.19's unshare plugin) leaves the apply
// to `hotchain agent -console` or `hotchain apply DIR`. A hotfix whose apply began (a
// journal or an install log of this host) is not: it was applied, failed or was
// interrupted, and the journal says which. One whose apply was only prepared (backups taken
// before the product closed, ApplyOptions.Prepare) still is: nothing of it was placed.

// Unpacked lists the hotfixes of the product's current chain that lie unpacked in
// PATCHES_DIR, unapplied and never started on this host, in chain order.
func Unpacked(cfg *sysconfig.Config) ([]hotfix.Version, error) {
	applied, err := Applied(cfg)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(cfg.InRoot(cfg.PatchesDir))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read PATCHES_DIR: %w", err)
	}
	var out []hotfix.Version
	for _, e := range entries {
		v, ok := hotfix.ParseDirName(cfg.Product, e.Name())
		if !ok || !e.IsDir() || Contains(applied, v) {
			continue
		}
		if NeverStarted(cfg, v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, hotfix.Version.Compare)
	return out, nil
}

// NeverStarted says whether hotfix v is unpacked and not applied: hotfix v's directory is complete (version.txt names v) and holds no journal
// and no install log of this host, or a journal of an apply that was only prepared.
func NeverStarted(cfg *sysconfig.Config, v hotfix.Version) bool {
	dir := HotfixDir(cfg, v)
	if named, err := hotfix.ReadVersionFile(dir); err != nil || !named.Equal(v) {
		return false
	}
	// A prepared apply (ApplyOptions.Prepare) placed nothing: still unpacked, not applied.
	if j, err := journal.Read(journal.Path(dir, cfg.Hostname)); err == nil {
		return j.PreparedOnly()
	} else if _, err := os.Lstat(journal.Path(dir, cfg.Hostname)); err == nil {
		return false
	}
	_, err := os.Lstat(filepath.Join(dir, fmt.Sprintf("%s-install-%s.log", hotfix.DirName(cfg.Product, v), cfg.Hostname)))
	return err != nil
}
