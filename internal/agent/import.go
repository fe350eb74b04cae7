package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hotchain/hotchain/internal/agent/intake"
	"github.com/hotchain/hotchain/repo/dnf"
	"github.com/hotchain/hotchain/sysconfig"
)

// importedBundle is the bundle an import run installs from.
type importedBundle struct {
	path string // the bundle file, for messages
}

// Import installs the bundle at bundlePath, signed by sigPath, as `hotchain import`
// does, with the run's settings and outside world in o (its mode is made modeConsole). It
// is the one entry point for anything that imports a bundle. It takes LOCK_CRON and
// LOCK_TS itself: call it where no agent run of this process holds them. Its error carries
// the exit status (exitStatus): 1 for a refused bundle (nothing on the host changed) and
// for a failed install, 3 when another run holds a lock, 4 and 5 as for the agent.
func Import(ctx context.Context, o Options, bundlePath, sigPath string) error {
	cfg := o.Config
	private, err := os.MkdirTemp("", "hotchain-import-*") // 0700
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer os.RemoveAll(private)
	defer dnf.RootedLeftovers(cfg.Root, private)()
	b, err := intake.CheckBundle(ctx, cfg, o.Environ, o.BundleFile, bundlePath, sigPath, private)
	if err != nil {
		return err
	}
	m := b.Manifest
	if b.AllApplied {
		fmt.Fprintf(o.Stdout, "Nothing to import: %s holds hotfixes %s to %s, and this host has applied them all.\n", bundlePath, m.From, m.To)
		return nil
	}
	lr := dnf.LocalRepo{ID: cfg.Product + "-hotfix-bundle", ReposDir: filepath.Join(private, "repos.d"), CacheDir: filepath.Join(private, "cache")}
	if err := os.Mkdir(lr.ReposDir, 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	repoFile, err := dnf.LocalRepoFile(lr.ID, fmt.Sprintf("%s hotfixes %s to %s from %s", m.Product, m.From, m.To, filepath.Base(bundlePath)), b.Dir, []string{b.KeyFile})
	if err != nil {
		return intake.Refused(bundlePath, err)
	}
	if err := os.WriteFile(filepath.Join(lr.ReposDir, lr.ID+".repo"), repoFile, 0o644); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	o.Mode = ModeConsole
	o.bundle = &importedBundle{path: bundlePath}
	newPM := o.NewPM
	if newPM == nil {
		newPM = NewPackageManager
	}
	o.NewPM = func(cfg *sysconfig.Config, p PMIO) (PackageManager, error) {
		pm, err := newPM(cfg, p)
		if real, ok := pm.(*dnf.PackageManager); ok {
			real.OnlyRepo(lr)
		}
		return pm, err
	}
	fmt.Fprintf(o.Stdout, "==> importing %s: hotfixes %s to %s of %s %s (signature checked with %s)\n", bundlePath, m.From, m.To, m.Product, m.Base, cfg.TarballKey)
	return RunOnce(ctx, o)
}
