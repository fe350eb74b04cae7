package agent

import (
	"context"
	"errors"
	"os"

	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/agent/intake"
)

// Bundles (hotchain bundle's PRODUCT-hotfix-bundle-FROM-TO.tar with its .sig) in DROP_DIR.
// hotchain import's entry point (Import) is a run of its own that takes LOCK_CRON and
// LOCK_TS itself, so bundles are not taken inside the agent run that takes the tarballs:
// that run (takeDrop) only notes the complete bundle pairs it would take, having passed
// the same gates, and Run imports them once it has released its locks, one
// call into Import each.

// Run is an agent run followed by the import of the bundles it found complete
// in DROP_DIR. The exit status is the run's, else the first failed import's.
func Run(ctx context.Context, o Options) error {
	var bundles []string
	o.DropBundles = &bundles
	err := RunOnce(ctx, o)
	if len(bundles) == 0 || ctx.Err() != nil {
		return err
	}
	if berr := takeDropBundles(ctx, o, bundles); err == nil {
		err = berr
	}
	return err
}

// takeDropBundles imports the bundle pairs names of DROP_DIR (drop.TakeBundles), each
// through one call into Import.
func takeDropBundles(ctx context.Context, o Options, names []string) error {
	o.FillDefaults()
	cfg := o.Config
	return drop.TakeBundles(drop.BundleTake{Dir: cfg.InRoot(cfg.DropDir), Shown: cfg.DropDir, Product: cfg.Product, Host: cfg.Hostname, Out: o.Stdout,
		Import: func(bundle string, in *os.File, sig string) error { return importDropBundle(ctx, o, bundle, in, sig) }, Refused: importRefused}, names)
}

// importRefused reports whether hotchain import refused the bundle itself, before it
// changed anything (its signature, content, product, chain, repository key): the file's
// fault, so it goes to refused/. A full disk while it unpacks is the host's.
func importRefused(err error) bool {
	var refused *intake.RefusedError
	return errors.As(err, &refused) && !drop.Retry(err)
}

// importDropBundle is the one call into hotchain import for a dropped bundle. The import
// is a run of its own (a console run, its output on o.stdout): it installs from the bundle,
// so it is no drop-only run, and it does not look at the drop folder again.
func importDropBundle(ctx context.Context, o Options, bundle string, in *os.File, sig string) error {
	cfg := *o.Config
	cfg.DropDir = ""
	o.Config, o.DropOnly, o.NoSettleWait, o.DropBundles, o.BundleFile = &cfg, false, false, nil, in
	return Import(ctx, o, bundle, sig)
}
