// Package rollout holds the vendor's signed rollout policy: per hotfix version the share
// of hosts that may install it (phasing), whether the rollout is halted, whether the
// hotfix is withdrawn and why, and when it was first published. The vendor's
// `hotchain policy` writes it (Policy.Marshal) next to a repository's repodata/ as
// rollout.json with the detached signature rollout.json.asc; a host's agent fetches both
// from the repository's baseurls (Fetch), checks the signature with the repository's key
// and reads it (Parse), then decides for itself whether it is in a share (InShare).
//
// It reads and checks; it writes no files (the callers write what Marshal returns,
// atomically) and decides nothing about a host's chain.
package rollout
