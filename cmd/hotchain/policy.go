package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/rollout"
	"github.com/hotchain/hotchain/internal/sign"
)

// The vendor's rollout policy command: `hotchain policy` writes DIR/rollout.json and its
// signature. The format is package rollout's; the host side is internal/agent/hostpolicy.

// maxPolicyExpiry bounds -expires: a policy that stays valid for years defeats the point
// of an expiry (a stale mirror would be trusted that long).
const maxPolicyExpiry = 366 * 24 * time.Hour

// policyNow is the clock of `hotchain policy`.
var policyNow = time.Now

func runPolicy(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "policy", "-sign-key KEY [-expires 14d] [-share V=PCT] [-halt V] [-withdraw V -reason TEXT] [-resume V] DIR", `Writes the signed rollout policy of the repository DIR (<repo root>/6.14.2): DIR/rollout.json
and its detached signature DIR/rollout.json.asc, signed like repodata/repomd.xml.asc. The
entries of the old policy stay; only what the flags name changes. Every hotfix RPM in DIR
gets an entry the first time the policy is written after it appears (share 100, published
now). Each run raises the revision by one and signs a new expiry: hosts refuse a policy
older than the newest they saw, and one past its expiry, so re-run it (with no flags)
before -expires runs out. -share, -halt, -withdraw and -resume may be repeated.`)
	signKey := fs.String("sign-key", "", "OpenPGP secret key `file` that signs the policy, the repository's key (required); OLD,NEW during a key rotation, as repo -sign-key")
	expires := fs.String("expires", "14d", "how long hosts trust this policy: `N`d or a duration like 36h (at most 366d)")
	var shares, halts, withdraws, resumes buildFlagList
	fs.Var(&shares, "share", "`V=PCT`: let PCT percent (0-100) of the hosts install hotfix V")
	fs.Var(&halts, "halt", "hotfix `V`: no host starts installing it")
	fs.Var(&resumes, "resume", "hotfix `V`: undo -halt")
	fs.Var(&withdraws, "withdraw", "hotfix `V`: withdraw it (with -reason): never installed, hosts that have it say so")
	reason := fs.String("reason", "", "why the hotfixes of -withdraw are withdrawn: one line for admins")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const example = "hotchain policy -sign-key vendor.asc -share 6.14.2.3=50 repo/6.14.2"
	if fs.NArg() != 1 {
		return cli.WithHint(cli.UsageError{Err: fmt.Errorf("policy takes one repository directory, got %d arguments", fs.NArg())}, example)
	}
	dir := fs.Arg(0)
	if *signKey == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("policy needs -sign-key: hosts check the policy with the repository's key")}, example)
	}
	ttl, err := parseExpiry(*expires)
	if err != nil {
		return cli.WithHint(cli.UsageError{Err: err}, "give days, e.g. -expires 14d, or a duration, e.g. -expires 36h")
	}
	changes, err := rollout.ParseChanges(shares, halts, resumes, withdraws, *reason)
	if err != nil {
		return cli.WithHint(cli.UsageError{Err: err}, example)
	}
	if st, err := os.Stat(filepath.Join(dir, "repodata")); err != nil || !st.IsDir() {
		return cli.WithHint(fmt.Errorf("%s is not a repository: it has no repodata/", dir), "run hotchain repo on it first; the policy lies beside repodata/")
	}
	signer, err := sign.LoadSigners(*signKey)
	if err != nil {
		return err
	}
	now := policyNow().UTC().Truncate(time.Second)
	old, err := rollout.ReadVendorFile(filepath.Join(dir, rollout.FileName))
	if err != nil {
		return err
	}
	inRepo, err := rollout.RepoVersions(dir)
	if err != nil {
		return err
	}
	p, notes, err := rollout.ApplyChanges(old, changes, inRepo, rollout.BaseOfDir(dir), now, ttl)
	if err != nil {
		return err
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	var sig bytes.Buffer
	if err := signer.At(now).SignArmored(&sig, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("sign the policy: %w", err)
	}
	if err := rollout.CheckWithRepoKey(dir, data, sig.Bytes(), now); err != nil {
		return err
	}
	// The policy first, then its signature: a host that reads between the two sees a
	// signature that does not match and fails that run; the next run reads both.
	if err := atomicfile.Write(filepath.Join(dir, rollout.FileName), data, 0o644); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, rollout.SigName), sig.Bytes(), 0o644); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(e.Stdout, n)
	}
	fmt.Fprintf(e.Stdout, "wrote %s: revision %d, expires %s\n", filepath.Join(dir, rollout.FileName), p.Revision, p.Expires.Format(time.RFC3339))
	return nil
}

// parseExpiry reads -expires: Nd (days) or a Go duration, positive and at most a year.
func parseExpiry(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("-expires %q: %q is not a whole number of days", s, n)
		}
		d = time.Duration(days) * 24 * time.Hour
		if days > 366 {
			d = maxPolicyExpiry + 1
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("-expires %q: not N days (14d) or a duration (36h)", s)
		}
	}
	switch {
	case d <= 0:
		return 0, fmt.Errorf("-expires %q: must be in the future", s)
	case d > maxPolicyExpiry:
		return 0, fmt.Errorf("-expires %q: more than 366 days; a long expiry lets a stale mirror be trusted that long", s)
	}
	return d, nil
}
