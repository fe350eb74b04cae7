package repo

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/hotchain/hotchain/packaging"
)

// Signature header tags that sign the main header alone (what rpm 4.14 and later check).
const (
	sigTagDSA = 267
	sigTagRSA = 268
)

// checkSignature fails unless the package's header is signed by s's key. A signed
// repository full of packages that dnf refuses (gpgcheck=1) is worse than no repository:
// the vendor learns of it here instead of from every host.
func checkSignature(raw *rawHeader, s *packaging.Signer) error {
	var sig []byte
	for _, tag := range []int{sigTagRSA, sigTagDSA} {
		if b := raw.sig.GetTag(tag).Bytes(); len(b) > 0 {
			sig = b
			break
		}
	}
	want := s.KeyID()
	if sig == nil {
		return fmt.Errorf("not signed: hosts check packages with gpgcheck=1; build it with the repository key %s", want)
	}
	ring := openpgp.EntityList{s.Entity()}
	_, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(raw.header), bytes.NewReader(sig), nil)
	if err == nil {
		return nil
	}
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		return fmt.Errorf("signed with key %s, not with the repository key %s: build it again with the repository key", issuer(sig), want)
	}
	return fmt.Errorf("bad signature (%v): build it again with the repository key %s", err, want)
}

// issuer is the key id that made an OpenPGP signature, for messages.
func issuer(sig []byte) string {
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return "(unreadable)"
	}
	if s, ok := p.(*packet.Signature); ok && s.IssuerKeyId != nil {
		return fmt.Sprintf("%016x", *s.IssuerKeyId)
	}
	return "(unknown)"
}
