package rollout

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/sign"
)

// The vendor's side of the policy, what `hotchain policy` does below its flags: the
// changes its flags ask for (ParseChanges), laid over the old policy and the hotfix RPMs
// of the repository directory (ApplyChanges), and the check of the signed result with the
// repository's own key (CheckWithRepoKey) before it is written.

// Change is what the flags of `hotchain policy` ask of one hotfix version.
type Change struct {
	v        hotfix.Version
	share    int // -1: unchanged
	halt     bool
	resume   bool
	withdraw string
}

// ParseChanges checks the flags and gathers them by version.
func ParseChanges(shares, halts, resumes, withdraws []string, reason string) ([]*Change, error) {
	byV := map[string]*Change{}
	get := func(flag, s string) (*Change, error) {
		v, err := hotfix.ParseHotfixVersion(s)
		if err != nil || v.String() != s {
			return nil, fmt.Errorf("%s %q: not a hotfix version (like 6.14.2.3)", flag, s)
		}
		c := byV[s]
		if c == nil {
			c = &Change{v: v, share: -1}
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
	if err := CheckReason(reason); err != nil {
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
	var out []*Change
	for _, c := range byV {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Change) int { return a.v.Compare(b.v) })
	return out, nil
}

// ApplyChanges makes the next revision of old (nil: none yet): an entry for every
// version in the repository that has none, then the changes. notes say what changed.
func ApplyChanges(old *Policy, changes []*Change, inRepo []hotfix.Version, base hotfix.Version, now time.Time, ttl time.Duration) (*Policy, []string, error) {
	p := &Policy{Schema: Schema, Revision: 1, Hotfixes: map[string]*Entry{}}
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
	entry := func(v hotfix.Version) *Entry {
		e := p.Hotfixes[v.String()]
		if e == nil {
			e = &Entry{Share: 100, Published: now}
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

// ReadVendorFile reads the policy in the repository, nil when there is none yet.
func ReadVendorFile(path string) (*Policy, error) {
	data, err := boundedio.ReadFile(path, "rollout policy", MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := Parse(data, path)
	if err != nil {
		return nil, cli.WithHint(err, "fix the field named, or remove "+path+" to start a new policy at revision 1 (hosts that saw a newer revision then refuse it)")
	}
	return p, nil
}

var hotfixRPMName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-hotfix-([0-9]+(?:_[0-9]+)+)-[^-/]+-[^-/]+\.rpm$`)

// RepoVersions lists the hotfix versions of the RPMs in dir (repodata/ excepted).
func RepoVersions(dir string) ([]hotfix.Version, error) {
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

// BaseOfDir is the base version a repository directory serves (its name), nil when its
// name is not a version.
func BaseOfDir(dir string) hotfix.Version {
	v, err := hotfix.ParseVersion(filepath.Base(filepath.Clean(dir)))
	if err != nil {
		return nil
	}
	return v
}

// CheckWithRepoKey checks the new signature with the key the repository publishes
// (RPM-GPG-KEY-*), so that a policy signed with another key than the one hosts hold is
// refused here, not on every host.
func CheckWithRepoKey(dir string, data, sig []byte, now time.Time) error {
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
