package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/hotfix/dryrun"
	"github.com/hotchain/hotchain/packaging/unpack"
	"github.com/hotchain/hotchain/sysconfig"
)

// applyDryRun is apply -dry-run: the plan of the apply, printed, with nothing written. A
// tarball is checked against TARBALL_KEY and unpacked into a private directory of the
// system's temporary directory (TMPDIR), removed afterwards, instead of PATCHES_DIR. The
// exit status is 1 when the apply would refuse.
func applyDryRun(ctx context.Context, e *env, cfg *sysconfig.Config, dir string, nocheck, asJSON bool) error {
	opt := dryrun.Options{NoCheck: nocheck}
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
	h := newHost(e, cfg)
	p, err := dryrun.Run(ctx, h, dir, opt)
	if err != nil {
		return err
	}
	if opt.Tarball {
		if r := unpackClash(h, dir); r != nil {
			p.Refusals = append(p.Refusals, *r)
		}
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

// unpackClash is the refusal of the unpack into PATCHES_DIR when the hotfix directory is
// there already with other content than the tarball (unpack.SameContent, as the unpack
// itself compares).
func unpackClash(h *applier.Host, staged string) *dryrun.Refusal {
	s, err := hotfix.ReadDir(staged)
	if err != nil {
		return nil
	}
	target := h.HotfixDir(s.Version)
	if _, err := os.Lstat(target); err != nil {
		return nil
	}
	err = unpack.SameContent(target, s)
	if err == nil {
		return nil
	}
	r := &dryrun.Refusal{Reason: err.Error()}
	var hinted interface{ Hint() string }
	if errors.As(err, &hinted) {
		r.Hint = hinted.Hint()
	}
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
