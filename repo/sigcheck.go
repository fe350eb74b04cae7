package repo

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/hotchain/hotchain/internal/sign"
)

// Signature header tags that sign the main header alone (what rpm 4.14 and later check).
const (
	sigTagDSA = 267
	sigTagRSA = 268
)

// checkSignature fails unless the package's header is signed by s's key. A signed
// repository full of packages that dnf refuses (gpgcheck=1) is worse than no repository:
// the vendor learns of it here instead of from every host.
func checkSignature(raw *rawHeader, s *sign.Signer) error {
	var sig []byte
	for _, tag := range []int{sigTagRSA, sigTagDSA} {
		if b := raw.sig.GetTag(tag).Bytes(); len(b) > 0 {
			sig = b
			break
		}
	}
	want := s.SigningKeyID()
	if sig == nil {
		return fmt.Errorf("not signed: hosts check packages with gpgcheck=1; build it with the repository key %s", want)
	}
	err := s.CheckDetached(bytes.NewReader(raw.header), sig)
	if err == nil {
		return nil
	}
	if errors.Is(err, sign.ErrUnknownIssuer) {
		return fmt.Errorf("signed with key %s, not with the repository key %s: build it again with the repository key", sign.Issuer(sig), want)
	}
	return fmt.Errorf("bad signature (%v): build it again with the repository key %s", err, want)
}
