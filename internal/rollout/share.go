package rollout

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/hotchain/hotchain/hotfix"
)

// Bucket is where a host falls for hotfix v: 0-99, from the SHA-256 of the version and the
// host's machine id. It is stable (the same host and version always give the same bucket)
// and independent between versions, so that a host early for one hotfix is not early for
// every one. A host is in a share of N % when its bucket is below N.
func Bucket(v hotfix.Version, machineID string) int {
	sum := sha256.Sum256([]byte("hotchain-rollout\x00" + v.String() + "\x00" + machineID))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// InShare reports whether the host with machineID is in a share of share % for v: never at
// 0, always at 100.
func InShare(v hotfix.Version, machineID string, share int) bool {
	return Bucket(v, machineID) < share
}
