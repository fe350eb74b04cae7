package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
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
	changes, err := policyChanges(shares, halts, resumes, withdraws, *reason)
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
	old, err := readVendorPolicy(filepath.Join(dir, rollout.FileName))
	if err != nil {
		return err
	}
	inRepo, err := repoHotfixVersions(dir)
	if err != nil {
		return err
	}
	p, notes, err := applyPolicyChanges(old, changes, inRepo, baseOfDir(dir), now, ttl)
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
	if err := checkWithRepoKey(dir, data, sig.Bytes(), now); err != nil {
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

// policyChange is what the flags ask of one hotfix version.
type policyChange struct {
	v        hotfix.Version
	share    int // -1: unchanged
	halt     bool
	resume   bool
	withdraw string
}

// policyChanges checks the flags and gathers them by version.
func policyChanges(shares, halts, resumes, withdraws []string, reason string) ([]*policyChange, error) {
	byV := map[string]*policyChange{}
	get := func(flag, s string) (*policyChange, error) {
		v, err := hotfix.ParseHotfixVersion(s)
		if err != nil || v.String() != s {
			return nil, fmt.Errorf("%s %q: not a hotfix version (like 6.14.2.3)", flag, s)
		}
		c := byV[s]
		if c == nil {
			c = &policyChange{v: v, share: -1}
			byV[s] = c
		}
		return c, nil
	}
	for _, s := range shares {
		vs, pct, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("-share %q: want VERSION=PERCENT, e.g. 6.14.2.3=50", s)
		}
		c, err := get("-share", vs)
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.TrimSuffix(pct, "%"))
		if err != nil || n < 0 || n > 100 {
			return nil, fmt.Errorf("-share %q: %q is not a percentage from 0 to 100", s, pct)
		}
		if c.share >= 0 {
			return nil, fmt.Errorf("-share %q: %s has a share already", s, vs)
		}
		c.share = n
	}
	for _, s := range halts {
		c, err := get("-halt", s)
		if err != nil {
			return nil, err
		}
		c.halt = true
	}
	for _, s := range resumes {
		c, err := get("-resume", s)
		if err != nil {
			return nil, err
		}
		if c.halt {
			return nil, fmt.Errorf("-resume %s and -halt %s: give one of the two", s, s)
		}
		c.resume = true
	}
	if len(withdraws) > 0 && reason == "" {
		return nil, errors.New("-withdraw needs -reason: admins see it on every host that has the hotfix")
	}
	if len(withdraws) == 0 && reason != "" {
		return nil, errors.New("-reason is given without -withdraw")
	}
	if err := rollout.CheckReason(reason); err != nil {
		return nil, fmt.Errorf("-reason: %w", err)
	}
	for _, s := range withdraws {
		c, err := get("-withdraw", s)
		if err != nil {
			return nil, err
		}
		if c.resume || c.share >= 0 {
			return nil, fmt.Errorf("-withdraw %s with -resume or -share of it: a withdrawn hotfix is never installed", s)
		}
		c.withdraw = reason
	}
	var out []*policyChange
	for _, c := range byV {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *policyChange) int { return a.v.Compare(b.v) })
	return out, nil
}

// applyPolicyChanges makes the next revision of old (nil: none yet): an entry for every
// version in the repository that has none, then the changes. notes say what changed.
func applyPolicyChanges(old *rollout.Policy, changes []*policyChange, inRepo []hotfix.Version, base hotfix.Version, now time.Time, ttl time.Duration) (*rollout.Policy, []string, error) {
	p := &rollout.Policy{Schema: rollout.Schema, Revision: 1, Hotfixes: map[string]*rollout.Entry{}}
	if old != nil {
		p.Revision = old.Revision + 1
		for k, e := range old.Hotfixes {
			c := *e
			p.Hotfixes[k] = &c
		}
	}
	p.Issued, p.Expires = now, now.Add(ttl)
	if old != nil && !p.Issued.After(old.Issued) {
		// A clock that went back must not make the revision look older than it is.
		p.Issued = old.Issued.Add(time.Second)
		p.Expires = p.Issued.Add(ttl)
	}
	var notes []string
	entry := func(v hotfix.Version) *rollout.Entry {
		e := p.Hotfixes[v.String()]
		if e == nil {
			e = &rollout.Entry{Share: 100, Published: now}
			p.Hotfixes[v.String()] = e
			notes = append(notes, fmt.Sprintf("%s: published (share 100%%)", v))
		}
		return e
	}
	for _, v := range inRepo {
		entry(v)
	}
	for _, c := range changes {
		if base != nil && !c.v.Base().Equal(base) {
			return nil, nil, cli.WithHint(fmt.Errorf("hotfix %s is not of base version %s, the repository's", c.v, base), "give the repository directory of its base version")
		}
		e := entry(c.v)
		if e.Withdrawn != "" && (c.share >= 0 || c.halt || c.resume) {
			return nil, nil, fmt.Errorf("hotfix %s is withdrawn (%s): it stays withdrawn; ship a new hotfix instead", c.v, e.Withdrawn)
		}
		if c.share >= 0 {
			e.Share = c.share
			notes = append(notes, fmt.Sprintf("%s: share %d%%", c.v, c.share))
		}
		if c.halt {
			e.Halted = true
			notes = append(notes, fmt.Sprintf("%s: halted", c.v))
		}
		if c.resume {
			if !e.Halted {
				return nil, nil, fmt.Errorf("-resume %s: it is not halted", c.v)
			}
			e.Halted = false
			notes = append(notes, fmt.Sprintf("%s: resumed", c.v))
		}
		if c.withdraw != "" {
			e.Withdrawn = c.withdraw
			notes = append(notes, fmt.Sprintf("%s: withdrawn: %s", c.v, c.withdraw))
		}
	}
	return p, notes, nil
}

// readVendorPolicy reads the policy in the repository, nil when there is none yet.
func readVendorPolicy(path string) (*rollout.Policy, error) {
	data, err := boundedio.ReadFile(path, "rollout policy", rollout.MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := rollout.Parse(data, path)
	if err != nil {
		return nil, cli.WithHint(err, "fix the field named, or remove "+path+" to start a new policy at revision 1 (hosts that saw a newer revision then refuse it)")
	}
	return p, nil
}

var hotfixRPMName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-hotfix-([0-9]+(?:_[0-9]+)+)-[^-/]+-[^-/]+\.rpm$`)

// repoHotfixVersions lists the hotfix versions of the RPMs in dir (repodata/ excepted).
func repoHotfixVersions(dir string) ([]hotfix.Version, error) {
	var vs []hotfix.Version
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "repodata" {
			return filepath.SkipDir
		}
		if m := hotfixRPMName.FindStringSubmatch(d.Name()); m != nil && !d.IsDir() {
			if v, err := hotfix.ParseHotfixVersion(strings.ReplaceAll(m[1], "_", ".")); err == nil && !slices.ContainsFunc(vs, v.Equal) {
				vs = append(vs, v)
			}
		}
		return nil
	})
	slices.SortFunc(vs, hotfix.Version.Compare)
	return vs, err
}

// baseOfDir is the base version a repository directory serves (its name), nil when its
// name is not a version.
func baseOfDir(dir string) hotfix.Version {
	v, err := hotfix.ParseVersion(filepath.Base(filepath.Clean(dir)))
	if err != nil {
		return nil
	}
	return v
}

// checkWithRepoKey checks the new signature with the key the repository publishes
// (RPM-GPG-KEY-*), so that a policy signed with another key than the one hosts hold is
// refused here, not on every host.
func checkWithRepoKey(dir string, data, sig []byte, now time.Time) error {
	keys, _ := filepath.Glob(filepath.Join(dir, "RPM-GPG-KEY-*"))
	if len(keys) == 0 {
		return nil
	}
	var ring sign.Keyring
	for _, k := range keys {
		b, err := sign.ReadKeyFile(k, "repository key")
		if err != nil {
			return err
		}
		if err := ring.Add(b, k); err != nil {
			return err
		}
	}
	if err := ring.CheckArmoredDetached(data, sig, now); err != nil {
		return cli.WithHint(fmt.Errorf("the policy's signature does not verify with the repository's key %s: %w", strings.Join(keys, ", "), err),
			"sign with the key that signs the repository (hotchain repo -sign-key)")
	}
	return nil
}
