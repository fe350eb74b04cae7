// Package hostpolicy is the host's side of the vendor's rollout policy (internal/rollout):
// it fetches the policy from the baseurls of the host's .repo file, checks its signature with
// the repository's key (the gpgkey files the .repo file names), refuses metadata older than
// what this host accepted before (the metadata state in STATE_DIR) or past its signed
// expiry, and gives the machine id that phasing hashes. The agent run decides with what it
// returns; this package decides nothing about a hotfix and changes nothing on the host but
// its metadata state file. It runs on hosts: it must not import the vendor side.
package hostpolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/repoconf"
	"github.com/hotchain/hotchain/internal/rollout"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/sysconfig"
)

// Policy is the policy a run read, and where from.
type Policy struct {
	*rollout.Policy        // nil: the repository has no policy (phasing off)
	repoKey         string // the repository in the metadata state: "shop-hotfix/6.14.2"
	url             string // the baseurl it came from
	Note            string // said by -check -verbose: why there is no policy
	repomdRevision  string // repodata/repomd.xml's <revision>, "" when not read
}

// Published is when the vendor first published hotfix v, from the signed policy; ok is
// false when the policy does not name it (or there is none).
func (hp *Policy) Published(v hotfix.Version) (t time.Time, ok bool) {
	if hp == nil {
		return time.Time{}, false
	}
	if e := hp.Entry(v); e != nil {
		return e.Published, true
	}
	return time.Time{}, false
}

// policyError is a policy or metadata that the run refuses; its hint says what to do.
func policyError(hint, format string, args ...any) error {
	return cli.WithHint(fmt.Errorf(format, args...), hint)
}

// Load reads the policy of the host's repository (REPO_FILE's section
// <product>-hotfix): from the first of its baseurls that answers, checked with the key
// files its gpgkey names (inside -root), against the metadata state in STATE_DIR.
func Load(ctx context.Context, cfg *sysconfig.Config, now time.Time) (*Policy, *MetadataState, error) {
	repoPath := cfg.InRoot(cfg.RepoFile)
	data, err := repoconf.ReadFile(repoPath)
	if errors.Is(err, fs.ErrNotExist) {
		return &Policy{Note: "no rollout policy: " + cfg.RepoFile + " does not exist (phasing is off)"}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	f := repoconf.Parse(data)
	section := repoconf.ID(cfg.Product)
	var urls, keys []string
	for _, e := range f.Entries {
		if e.Section != section {
			continue
		}
		switch e.Key {
		case "baseurl":
			urls = append(urls, repoconf.Words(f.Value(e))...)
		case "gpgkey":
			keys = append(keys, repoconf.Words(f.Value(e))...)
		}
	}
	if len(urls) == 0 {
		return &Policy{Note: fmt.Sprintf("no rollout policy: %s has no baseurl in [%s] (phasing is off)", cfg.RepoFile, section)}, nil, nil
	}
	hp := &Policy{repoKey: section + "/" + repoconf.LastElem(urls[0])}
	st, err := readMetadataState(cfg)
	if err != nil {
		return nil, nil, err
	}
	seen := st.Repositories[hp.repoKey]

	var polData []byte
	var errs []string
	for _, u := range urls {
		polData, err = rollout.Fetch(ctx, nil, u, rollout.FileName, rollout.MaxSize)
		if err == nil || errors.Is(err, rollout.ErrNotFound) {
			hp.url = u
			break
		}
		errs = append(errs, err.Error())
	}
	if hp.url == "" {
		return nil, nil, policyError("check the network and the baseurl in "+cfg.RepoFile,
			"fetch the rollout policy: %s", strings.Join(errs, "; "))
	}
	if err != nil { // not found
		if seen.PolicyRevision > 0 {
			return nil, nil, policyError("a mirror or proxy serves an old copy of the repository: point the baseurl at a current one",
				"metadata older than what this host saw: %s serves no rollout policy, and this host saw revision %d", hp.url, seen.PolicyRevision)
		}
		hp.Note = "no rollout policy at " + strings.TrimRight(hp.url, "/") + "/" + rollout.FileName + " (phasing is off)"
	} else if hp.Policy, err = checkHostPolicy(ctx, cfg, hp.url, keys, polData, now); err != nil {
		return nil, nil, err
	}
	if p := hp.Policy; p != nil {
		if p.Revision < seen.PolicyRevision {
			return nil, nil, policyError("a mirror or proxy serves an old copy of the repository: point the baseurl at a current one, or wait until it catches up",
				"metadata older than what this host saw: rollout policy revision %d < %d (%s)", p.Revision, seen.PolicyRevision, hp.url)
		}
		if !now.Before(p.Expires) {
			return nil, nil, policyError("the vendor signs a new expiry with hotchain policy; a mirror that serves this one is not updated",
				"metadata expired: rollout policy revision %d of %s expired at %s", p.Revision, hp.url, p.Expires.Format(time.RFC3339))
		}
	}
	if err := hp.checkRepomd(ctx, cfg, keys, seen, now); err != nil {
		return nil, nil, err
	}
	return hp, st, nil
}

// checkHostPolicy checks the signature of a fetched policy, then reads it. A policy
// without a signature, or with one that the repository's keys do not verify, is refused.
func checkHostPolicy(ctx context.Context, cfg *sysconfig.Config, baseURL string, keys []string, data []byte, now time.Time) (*rollout.Policy, error) {
	where := strings.TrimRight(baseURL, "/") + "/" + rollout.FileName
	sig, err := rollout.Fetch(ctx, nil, baseURL, rollout.SigName, sign.MaxSignatureSize)
	if errors.Is(err, rollout.ErrNotFound) {
		return nil, policyError("the vendor signs it with hotchain policy -sign-key; a copy of the repository must keep "+rollout.SigName,
			"rollout policy %s has no signature (%s): refused", where, rollout.SigName)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the rollout policy's signature: %w", err)
	}
	ring, err := repoKeyring(cfg, keys)
	if err != nil {
		return nil, err
	}
	if err := ring.CheckArmoredDetached(data, sig, now); err != nil {
		return nil, policyError("the policy was changed after it was signed, or signed with another key than the repository's: nothing is installed until it verifies",
			"rollout policy %s: bad signature: %v", where, err)
	}
	p, err := rollout.Parse(data, where)
	if err != nil {
		return nil, cli.WithHint(err, "the vendor writes the policy with hotchain policy; report it to the vendor")
	}
	return p, nil
}

// repoKeyring reads the gpgkey files of the .repo file: file:// URLs, inside -root.
func repoKeyring(cfg *sysconfig.Config, keys []string) (*sign.Keyring, error) {
	var ring sign.Keyring
	for _, k := range keys {
		u, err := url.Parse(k)
		if err != nil || u.Scheme != "file" {
			continue // dnf fetches other keys itself; the policy is checked with local ones
		}
		p := cfg.InRoot(u.Path)
		data, err := sign.ReadKeyFile(p, "repository key")
		if err != nil {
			return nil, cli.WithHint(err, "reinstall the base RPM, which brings the vendor's key")
		}
		if err := ring.Add(data, p); err != nil {
			return nil, err
		}
	}
	if ring.Len() == 0 {
		return nil, policyError("the base RPM's .repo file names the key as gpgkey=file:///etc/pki/rpm-gpg/...; reinstall it",
			"%s names no gpgkey=file:// key to check the rollout policy with", cfg.RepoFile)
	}
	return &ring, nil
}

// maxRepomdSize bounds repomd.xml: a few KiB.
const maxRepomdSize = 1 << 20

var repomdRevision = regexp.MustCompile(`<revision>\s*([^<\s]*)\s*</revision>`)

// checkRepomd reads repodata/repomd.xml and its signature from the baseurl that served the
// policy and refuses a revision older than the newest this host accepted. Without a
// repomd.xml.asc (an unsigned repository) there is nothing to trust the revision by, and
// dnf's check stands alone.
func (hp *Policy) checkRepomd(ctx context.Context, cfg *sysconfig.Config, keys []string, seen repoSeen, now time.Time) error {
	data, err := rollout.Fetch(ctx, nil, hp.url, "repodata/repomd.xml", maxRepomdSize)
	if errors.Is(err, rollout.ErrNotFound) {
		return nil // dnf says what is wrong with the repository
	}
	if err != nil {
		return fmt.Errorf("fetch repomd.xml: %w", err)
	}
	sig, err := rollout.Fetch(ctx, nil, hp.url, "repodata/repomd.xml.asc", sign.MaxSignatureSize)
	if errors.Is(err, rollout.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fetch repomd.xml.asc: %w", err)
	}
	ring, err := repoKeyring(cfg, keys)
	if err != nil {
		return err
	}
	if err := ring.CheckArmoredDetached(data, sig, now); err != nil {
		return policyError("the repository's metadata was changed after it was signed; nothing is installed until it verifies",
			"%srepodata/repomd.xml: bad signature: %v", hp.url, err)
	}
	m := repomdRevision.FindSubmatch(data)
	if m == nil {
		return nil
	}
	hp.repomdRevision = string(m[1])
	if olderRevision(hp.repomdRevision, seen.RepomdRevision) {
		return policyError("a mirror or proxy serves an old copy of the repository: point the baseurl at a current one, or wait until it catches up",
			"metadata older than what this host saw: repomd.xml revision %s < %s (%s)", hp.repomdRevision, seen.RepomdRevision, hp.url)
	}
	return nil
}

// olderRevision compares repomd revisions: numbers (hotchain repo writes the metadata's
// time) numerically; a revision that is not a number is never called older.
func olderRevision(got, seen string) bool {
	g, err1 := strconv.ParseInt(got, 10, 64)
	s, err2 := strconv.ParseInt(seen, 10, 64)
	return err1 == nil && err2 == nil && g < s
}

// MetadataState is STATE_DIR/metadata.json: per repository the newest metadata this host
// accepted, so that older metadata (a stale mirror, a replayed repository) is refused.
type MetadataState struct {
	Repositories map[string]repoSeen `json:"repositories"`
}

type repoSeen struct {
	PolicyRevision int64  `json:"policy_revision,omitempty"`
	RepomdRevision string `json:"repomd_revision,omitempty"`
}

// maxMetadataState bounds the state file: a line per repository.
const maxMetadataState = 1 << 20

func metadataStateFile(cfg *sysconfig.Config) string {
	return filepath.Join(cfg.InRoot(cfg.StateDir), "metadata.json")
}

func readMetadataState(cfg *sysconfig.Config) (*MetadataState, error) {
	st := &MetadataState{Repositories: map[string]repoSeen{}}
	p := metadataStateFile(cfg)
	data, err := boundedio.ReadFile(p, "metadata state", maxMetadataState)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, cli.WithHint(fmt.Errorf("read the metadata state %s: %w", p, err),
			"remove it: the next run accepts the metadata it finds as the newest")
	}
	if st.Repositories == nil {
		st.Repositories = map[string]repoSeen{}
	}
	return st, nil
}

// Remember records what hp accepted, when it is newer than what st holds, atomically.
func (st *MetadataState) Remember(cfg *sysconfig.Config, hp *Policy) error {
	if st == nil || hp == nil || hp.repoKey == "" {
		return nil
	}
	seen := st.Repositories[hp.repoKey]
	next := seen
	if hp.Policy != nil && hp.Revision > next.PolicyRevision {
		next.PolicyRevision = hp.Revision
	}
	if hp.repomdRevision != "" && (next.RepomdRevision == "" || olderRevision(next.RepomdRevision, hp.repomdRevision)) {
		next.RepomdRevision = hp.repomdRevision
	}
	if next == seen {
		return nil
	}
	st.Repositories[hp.repoKey] = next
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := metadataStateFile(cfg)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write the metadata state: %w", err)
	}
	return atomicfile.Write(p, append(data, '\n'), 0o644)
}

// maxMachineID bounds /etc/machine-id: 33 bytes on systemd hosts.
const maxMachineID = 4096

// MachineID is what phasing hashes for this host: /etc/machine-id inside -root (its first
// line), else HOSTNAME.
func MachineID(cfg *sysconfig.Config) string {
	data, err := boundedio.ReadFile(cfg.InRoot("/etc/machine-id"), "machine id", maxMachineID)
	if err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		if id := strings.TrimSpace(line); id != "" {
			return id
		}
	}
	return cfg.Hostname
}
