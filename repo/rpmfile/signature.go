package rpmfile

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/cavaliergopher/rpm"

	"github.com/hotchain/hotchain/internal/sign"
)

// Signature header tags that sign the main header alone (what rpm 4.14 and later check).
const (
	sigTagDSA = 267
	sigTagRSA = 268
)

// CheckSignature fails unless the package's header is signed by one of s's keys (several
// during a key rotation's overlap, sign.Join). A signed repository full of packages that
// dnf refuses (gpgcheck=1) is worse than no repository: the vendor learns of it here
// instead of from every host. After the overlap, a package still signed with the retired
// key is refused here.
func (raw *Header) CheckSignature(s *sign.Signer) error {
	var sig []byte
	for _, tag := range []int{sigTagRSA, sigTagDSA} {
		if b := raw.sig.GetTag(tag).Bytes(); len(b) > 0 {
			sig = b
			break
		}
	}
	want := s.KeyIDs()
	if sig == nil {
		return fmt.Errorf("not signed: hosts check packages with gpgcheck=1; build it with the repository key %s", want)
	}
	var err error
	for _, k := range s.Keys() {
		if err = k.CheckDetached(bytes.NewReader(raw.header), sig); err == nil {
			return nil
		}
		if !errors.Is(err, sign.ErrUnknownIssuer) {
			return fmt.Errorf("bad signature (%v): build it again with the repository key %s", err, want)
		}
	}
	return fmt.Errorf("signed with key %s, not with the repository key %s: build it again with the repository key", sign.Issuer(sig), want)
}

// Digest tags that rpm -K checks besides the signatures.
const (
	sigTagSHA1         = 269  // main header, hex
	sigTagSHA256       = 273  // main header, hex
	sigTagMD5          = 1004 // main header and payload, 16 bytes
	tagPayloadDigest   = 5092 // payload, hex, by tagPayloadDigestAlgo
	tagPayloadDigestAl = 5093
)

// digests hashes a package's payload for the digests its headers record, as rpm -K does:
// the payload digest of the main header (rpm 4.14 and later) and the legacy MD5 of main
// header and payload. The header digests are checked over the header bytes (check).
//
// The legacy signatures over header and payload (PGP and GPG signature tags) are not
// checked: the header signature covers the payload digest, which covers the payload.
type digests struct {
	payload     hash.Hash // nil: no payload digest
	payloadAlgo string
	payloadWant string
	md5         hash.Hash // nil: no MD5 tag
	md5Want     []byte
	err         error // an algorithm rpm would not know either
}

// pgpHashes are the OpenPGP hash algorithms that PAYLOADDIGESTALGO names.
var pgpHashes = map[int64]struct {
	name string
	new  func() hash.Hash
}{
	1: {"MD5", md5.New}, 2: {"SHA1", sha1.New}, 8: {"SHA256", sha256.New},
	9: {"SHA384", sha512.New384}, 10: {"SHA512", sha512.New}, 11: {"SHA224", sha256.New224},
}

// newDigests prepares the hashes of p's payload; header is the main header's bytes.
func newDigests(p *rpm.Package, header []byte) *digests {
	d := &digests{}
	if want := tagStrings(&p.Header, tagPayloadDigest); len(want) > 0 {
		algo := tagInt(&p.Header, tagPayloadDigestAl)
		if algo < 0 {
			algo = 8 // rpm's default
		}
		h, ok := pgpHashes[algo]
		if !ok {
			d.err = fmt.Errorf("payload digest algorithm %d is unknown", algo)
		} else {
			d.payload, d.payloadAlgo, d.payloadWant = h.new(), h.name, want[0]
		}
	}
	if want := p.Signature.GetTag(sigTagMD5).Bytes(); len(want) > 0 {
		d.md5, d.md5Want = md5.New(), want
		d.md5.Write(header)
	}
	return d
}

// Write takes the next bytes of the payload.
func (d *digests) Write(b []byte) (int, error) {
	if d.payload != nil {
		d.payload.Write(b)
	}
	if d.md5 != nil {
		d.md5.Write(b)
	}
	return len(b), nil
}

// check compares every digest the package records with the package, after the whole
// payload was written, and names each that does not match, as rpm -K does.
func (d *digests) check(p *rpm.Package, header []byte) error {
	if d.err != nil {
		return d.err
	}
	var bad []string
	if want := tagString(&p.Signature, sigTagSHA256); want != "" {
		if sum := sha256.Sum256(header); !strings.EqualFold(hex.EncodeToString(sum[:]), want) {
			bad = append(bad, "header SHA256 digest")
		}
	}
	if want := tagString(&p.Signature, sigTagSHA1); want != "" {
		if sum := sha1.Sum(header); !strings.EqualFold(hex.EncodeToString(sum[:]), want) {
			bad = append(bad, "header SHA1 digest")
		}
	}
	if d.payload != nil && !strings.EqualFold(hex.EncodeToString(d.payload.Sum(nil)), d.payloadWant) {
		bad = append(bad, "payload "+d.payloadAlgo+" digest")
	}
	if d.md5 != nil && !bytes.Equal(d.md5.Sum(nil), d.md5Want) {
		bad = append(bad, "MD5 digest")
	}
	if len(bad) == 0 {
		return nil
	}
	return &digestError{bad}
}

// digestError says which of a package's digests do not match it: the package changed
// after it was built (and signed), or was damaged in a copy.
type digestError struct{ bad []string }

func (e *digestError) Error() string {
	return fmt.Sprintf("%s BAD (rpm -K: DIGESTS NOT OK): it changed after it was built, or a copy damaged it: build it again, or copy it again from the build", strings.Join(e.bad, ", "))
}
