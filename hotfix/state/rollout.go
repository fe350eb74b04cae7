package state

import (
	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/sysconfig"
)

// The alpha-then-others rollout (SPEC section 4) as the ledger records it: which hotfixes a
// secondary may install now, and which of the alpha's hotfixes every secondary has, so that
// the alpha can finalize them. The agent decides when to act on it.

// Rollout is the state of a distributed installation in LEDGER_DIR.
type Rollout struct {
	Installation []hotfix.Version            // version.txt: what the alpha (or a single host) applied
	Finalized    []hotfix.Version            // finalized.txt: what the alpha finalized
	Secondaries  map[string][]hotfix.Version // <host>.txt of each host in SECONDARY_HOSTS
}

// ReadRollout reads version.txt, finalized.txt and the ledger of every host in SECONDARY_HOSTS.
func ReadRollout(cfg *sysconfig.Config) (*Rollout, error) {
	l := Ledger(cfg)
	r := &Rollout{Secondaries: map[string][]hotfix.Version{}}
	var err error
	if r.Installation, err = l.Read(hotfix.InstallationLedger); err != nil {
		return nil, err
	}
	if r.Finalized, err = l.Read(hotfix.FinalizedLedger); err != nil {
		return nil, err
	}
	for _, s := range cfg.SecondaryHosts {
		if r.Secondaries[s], err = l.Read(hotfix.HostFile(s)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Lacking lists the hosts of SECONDARY_HOSTS whose ledger does not hold v, in the order of
// the setting.
func Lacking(cfg *sysconfig.Config, r *Rollout, v hotfix.Version) []string {
	var missing []string
	for _, s := range cfg.SecondaryHosts {
		if !Contains(r.Secondaries[s], v) {
			missing = append(missing, s)
		}
	}
	return missing
}

// SplitPending divides pending hotfixes (in chain order) into those this host may install now
// and those that wait for the alpha. On a secondary, "now" is the longest run from the start
// whose versions version.txt holds: hotfixes install in chain order, so one the alpha has not
// applied holds back every later one. Other roles install everything now.
func SplitPending(cfg *sysconfig.Config, pending []hotfix.Version) (now, waiting []hotfix.Version, err error) {
	if cfg.HostRole != sysconfig.RoleSecondary {
		return pending, nil, nil
	}
	inst, err := Ledger(cfg).Read(hotfix.InstallationLedger)
	if err != nil {
		return nil, nil, err
	}
	i := 0
	for i < len(pending) && Contains(inst, pending[i]) {
		i++
	}
	return pending[:i], pending[i:], nil
}

// FinalizeReady lists, on the alpha, the applied hotfixes not yet finalized that every host
// in SECONDARY_HOSTS has applied, in chain order. It stops at the first that some secondary
// lacks (the -final scripts run in chain order too) and returns that one as blocked, with
// the hosts it waits for.
func FinalizeReady(cfg *sysconfig.Config) (ready []hotfix.Version, blocked hotfix.Version, waitingFor []string, err error) {
	if cfg.HostRole != sysconfig.RoleAlpha {
		return nil, nil, nil, nil
	}
	applied, err := Applied(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := ReadRollout(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, v := range applied {
		if Contains(r.Finalized, v) {
			continue
		}
		if missing := Lacking(cfg, r, v); len(missing) > 0 {
			return ready, v, missing, nil
		}
		ready = append(ready, v)
	}
	return ready, nil, nil, nil
}
