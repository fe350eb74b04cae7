package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/sysconfig"
)

// applyDryRun is apply -dry-run: the plan of the apply, printed, with nothing written. A
// tarball is checked against TARBALL_KEY and unpacked into a private directory of the
// system's temporary directory (TMPDIR), removed afterwards, instead of PATCHES_DIR. The
// exit status is 1 when the apply would refuse.
func applyDryRun(ctx context.Context, e *env, cfg *sysconfig.Config, dir string, nocheck, asJSON bool) error {
	opt := hotfix.DryRunOptions{NoCheck: nocheck}
	if strings.HasSuffix(dir, ".tar.gz") {
		tmp, err := os.MkdirTemp("", "hotchain-dry-run-*")
		if err != nil {
			return fmt.Errorf("dry run: %w", err)
		}
		defer os.RemoveAll(tmp)
		if dir, err = unpackVerifiedInto(cfg, dir, tmp); err != nil {
			return err
		}
		opt.Tarball = true
	}
	p, err := newHost(e, cfg).DryRun(ctx, dir, opt)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	} else {
		p.WriteText(e.stdout)
	}
	if len(p.Refusals) > 0 {
		return withHint(fmt.Errorf("dry run: the apply of hotfix %s would refuse (%d %s, listed above)", p.Version, len(p.Refusals), plural(len(p.Refusals), "reason", "reasons")),
			"deal with what is listed, then run the dry run again; nothing was written")
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
