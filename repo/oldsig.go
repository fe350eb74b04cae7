package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// reportOldSignature tells log what this run does about the signature of the metadata in
// dir: signs it again when it no longer matched, or drops it when the run has no key.
func reportOldSignature(dir string, signer *sign.Signer, log io.Writer) {
	repodata := filepath.Join(dir, "repodata")
	ascPath := filepath.Join(repodata, "repomd.xml.asc")
	if _, err := os.Lstat(ascPath); err != nil {
		return
	}
	if signer == nil {
		fmt.Fprintf(log, "warning: %s is removed: this run writes unsigned metadata\nhint: pass -sign-key to sign the repository again\n", ascPath)
		return
	}
	repomd, err := readRepomd(filepath.Join(repodata, "repomd.xml"))
	if err != nil {
		return
	}
	if keysChanged(dir, signer) {
		return // Build said so
	}
	if err := checkOldSignature(ascPath, repomd, signer); err != nil {
		fmt.Fprintf(log, "note: %s did not match repomd.xml (%v): another tool, such as createrepo_c --update, changed the metadata after it was signed; the new metadata is signed\n", ascPath, err)
	}
}

// staleSignature reports whether dir's repomd.xml.asc is there and is no signature of its
// repomd.xml by signer's key; false without a signer, which cannot tell.
func staleSignature(dir string, signer *sign.Signer) bool {
	repodata := filepath.Join(dir, "repodata")
	ascPath := filepath.Join(repodata, "repomd.xml.asc")
	repomd, err := readRepomd(filepath.Join(repodata, "repomd.xml"))
	if signer == nil || err != nil {
		return false
	}
	if _, err := os.Lstat(ascPath); err != nil {
		return false
	}
	return checkOldSignature(ascPath, repomd, signer) != nil
}

// checkOldSignature checks the armored signature in ascPath, read up to a bound, of
// repomd by signer's key (by each of them).
func checkOldSignature(ascPath string, repomd []byte, signer *sign.Signer) error {
	sig, err := readOldSignature(ascPath)
	if err != nil {
		return err
	}
	return signer.CheckDetached(bytes.NewReader(repomd), sig)
}

// readOldSignature reads the binary signature packets of the armored signature in ascPath,
// up to a bound.
func readOldSignature(ascPath string) ([]byte, error) {
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

// keysChanged reports whether dir's repomd.xml.asc was made by other keys than signer's:
// the packages of the old metadata were checked against those, so their entries are not
// reused and every package is read again (a key rotation's next step refuses one signed
// with a retired key). Whether it still matches repomd.xml (createrepo_c --update) does
// not matter here; no repomd.xml.asc (an unsigned repository) is no change either.
func keysChanged(dir string, signer *sign.Signer) bool {
	sig, err := readOldSignature(filepath.Join(dir, "repodata", "repomd.xml.asc"))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || sign.Issuers(sig) != signer.KeyIDs()
}
