package repo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/hotchain/hotchain/internal/sign"
)

// Another tool run over a signed repository (createrepo_c --update, which keeps the files
// it does not know) writes a new repomd.xml beside the old repomd.xml.asc, which then
// signs nothing: hosts with repo_gpgcheck=1 refuse the repository. Build never publishes
// such a pair (the signature is written into the new repodata/ with repomd.xml and swapped
// in with it), and says what happens to the old signature.

// oldSignature is the repository's signature as this run found it, read once: whether
// there is a repomd.xml.asc, its signature packets (or why they cannot be read), and the
// repomd.xml it should sign.
type oldSignature struct {
	path      string // repodata/repomd.xml.asc
	present   bool
	sig       []byte
	sigErr    error
	repomd    []byte
	repomdErr error
}

func readOldSignature(dir string) *oldSignature {
	repodata := filepath.Join(dir, "repodata")
	o := &oldSignature{path: filepath.Join(repodata, "repomd.xml.asc")}
	if _, err := os.Lstat(o.path); err != nil {
		return o
	}
	o.present = true
	o.sig, o.sigErr = readSignaturePackets(o.path)
	o.repomd, o.repomdErr = readRepomd(filepath.Join(repodata, "repomd.xml"))
	return o
}

// report tells log what this run does about the old signature: signs it again when it no
// longer matched, or drops it when the run has no key.
func (o *oldSignature) report(signer *sign.Signer, log io.Writer) {
	if !o.present {
		return
	}
	if signer == nil {
		fmt.Fprintf(log, "warning: %s is removed: this run writes unsigned metadata\nhint: pass -sign-key to sign the repository again\n", o.path)
		return
	}
	if o.repomdErr != nil || o.keysChanged(signer) {
		return // Build said so
	}
	if err := o.check(signer); err != nil {
		fmt.Fprintf(log, "note: %s did not match repomd.xml (%v): another tool, such as createrepo_c --update, changed the metadata after it was signed; the new metadata is signed\n", o.path, err)
	}
}

// stale reports whether repomd.xml.asc is there and is no signature of its repomd.xml by
// signer's key; false without a signer, which cannot tell.
func (o *oldSignature) stale(signer *sign.Signer) bool {
	return signer != nil && o.present && o.repomdErr == nil && o.check(signer) != nil
}

// check checks the old signature of repomd.xml by signer's key (by each of them).
func (o *oldSignature) check(signer *sign.Signer) error {
	if o.sigErr != nil {
		return o.sigErr
	}
	return signer.CheckDetached(bytes.NewReader(o.repomd), o.sig)
}

// readSignaturePackets reads the binary signature packets of the armored signature in
// ascPath, up to a bound.
func readSignaturePackets(ascPath string) ([]byte, error) {
	f, err := os.Open(ascPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	block, err := armor.Decode(io.LimitReader(f, 4*sign.MaxSignatureSize))
	if err != nil {
		return nil, fmt.Errorf("not an armored signature: %w", err)
	}
	return io.ReadAll(io.LimitReader(block.Body, sign.MaxSignatureSize+1))
}

// keysChanged reports whether repomd.xml.asc was made by other keys than signer's: the
// packages of the old metadata were checked against those, so their entries are not
// reused and every package is read again (a key rotation's next step refuses one signed
// with a retired key). Whether it still matches repomd.xml (createrepo_c --update) does
// not matter here; no repomd.xml.asc (an unsigned repository) is no change either.
func (o *oldSignature) keysChanged(signer *sign.Signer) bool {
	if !o.present {
		return false
	}
	return o.sigErr != nil || sign.Issuers(o.sig) != signer.KeyIDs()
}
