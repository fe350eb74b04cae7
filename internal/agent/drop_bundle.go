package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hotchain/hotchain/internal/agent/drop"
	"github.com/hotchain/hotchain/internal/agent/intake"
	"github.com/hotchain/hotchain/internal/cli"
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

// takeDropBundles imports the bundle pairs names of DROP_DIR, in order, each still complete,
// and moves each to done/, or to refused/ when import refused it, or leaves it for the next
// run (another run holds a lock, the disk is full, the install failed).
func takeDropBundles(ctx context.Context, o Options, names []string) error {
	o.FillDefaults()
	cfg := o.Config
	dir := cfg.InRoot(cfg.DropDir)
	df, err := drop.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	defer df.Close()
	w := o.Stdout
	var status error
	for _, name := range names {
		pairs, err := drop.Scan(dir, cfg.Product)
		if err != nil {
			return fmt.Errorf("drop folder: %w", err)
		}
		var p *drop.Pair
		for _, q := range pairs {
			if q.Archive == name {
				p = q
			}
		}
		if p == nil || p.ArchiveFile == nil || p.SigFile == nil {
			continue // moved or removed meanwhile
		}
		if why, _, _ := drop.PairState(dir, p, time.Now()); why != "" || p.Bad != "" {
			continue
		}
		sigCopy, cleanup, err := drop.PrivateSigCopy(df, p.SigFile.Name)
		if err == nil {
			err = importDropBundle(ctx, o, filepath.Join(dir, p.ArchiveFile.Name), sigCopy)
			cleanup()
		}
		switch {
		case err == nil:
			base, merr := df.Move(drop.Done, p, "")
			if merr != nil {
				fmt.Fprintf(w, "Drop folder %s: imported %s, but could not move it to %s/: %v\n", cfg.DropDir, name, drop.Done, merr)
				status = errors.Join(status, merr)
				continue
			}
			fmt.Fprintf(w, "Drop folder %s: imported %s (moved to %s)\n", cfg.DropDir, name, filepath.Join(cfg.DropDir, drop.Done, base))
		case !importRefused(err):
			// Not the bundle's fault, or not only (another run holds a lock, dnf failed,
			// an apply or health check failed: the import's report says which): the
			// next run imports it again, as the agent retries a pending chain.
			fmt.Fprintf(w, "Drop folder %s: %s left for the next run: %v\n", cfg.DropDir, name, err)
			if status == nil {
				status = err
			}
		default:
			reason := err.Error()
			if sigCopy != "" {
				reason = replacePath(reason, sigCopy, filepath.Join(cfg.DropDir, p.SigFile.Name))
			}
			hint := hintOf(err)
			if hint == "" {
				hint = "get the bundle and its .sig again from the vendor and copy them into the drop folder, the bundle first"
			}
			base, merr := df.Move(drop.Refused, p, drop.ReasonText(cfg.Hostname, name, reason, hint))
			if merr != nil {
				status = errors.Join(status, merr)
			}
			fmt.Fprintf(w, "Drop folder %s: refused %s: %s (moved to %s)\n", cfg.DropDir, name, reason, filepath.Join(cfg.DropDir, drop.Refused, base))
			if status == nil {
				status = cli.ExitError{Code: cli.ExitFailure, Err: cli.WithHint(fmt.Errorf("drop folder: refused %s: %s", name, reason), hint)}
			}
		}
	}
	return status
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
func importDropBundle(ctx context.Context, o Options, bundle, sig string) error {
	cfg := *o.Config
	cfg.DropDir = ""
	o.Config, o.DropOnly, o.NoSettleWait, o.DropBundles = &cfg, false, false, nil
	return Import(ctx, o, bundle, sig)
}
