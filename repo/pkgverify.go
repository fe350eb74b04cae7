package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotchain/hotchain/internal/sign"
)

// CheckPackage checks the RPM at path as dnf's gpgcheck=1 does with a host's keys: intact
// (header and payload digests, as rpm -K) and its header signed by one of ring's keys, as
// of now. `hotchain import` checks a bundle's packages with it before anything changes.
func CheckPackage(path string, ring *sign.Keyring, now time.Time) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	pr := &packageReader{}
	_, raw, err := pr.readFile(path, filepath.Base(path), fi)
	if err != nil {
		return err
	}
	var sig []byte
	for _, tag := range []int{sigTagRSA, sigTagDSA} {
		if b := raw.sig.GetTag(tag).Bytes(); len(b) > 0 {
			sig = b
			break
		}
	}
	if sig == nil {
		return fmt.Errorf("package %s is not signed", path)
	}
	if err := ring.CheckDetached(bytes.NewReader(raw.header), sig, now); err != nil {
		if errors.Is(err, sign.ErrUnknownIssuer) {
			return fmt.Errorf("package %s is signed with key %s, which this host does not trust", path, sign.Issuer(sig))
		}
		return fmt.Errorf("package %s: bad signature: %w", path, err)
	}
	return nil
}
