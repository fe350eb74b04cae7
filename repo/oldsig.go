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
// repomd by signer's key.
func checkOldSignature(ascPath string, repomd []byte, signer *sign.Signer) error {
	f, err := os.Open(ascPath)
	if err != nil {
		return err
	}
	defer f.Close()
	block, err := armor.Decode(io.LimitReader(f, 4*sign.MaxSignatureSize))
	if err != nil {
		return fmt.Errorf("not an armored signature: %w", err)
	}
	sig, err := io.ReadAll(io.LimitReader(block.Body, sign.MaxSignatureSize+1))
	if err != nil {
		return err
	}
	return signer.CheckDetached(bytes.NewReader(repomd), sig)
}
