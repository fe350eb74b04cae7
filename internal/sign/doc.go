// Package sign holds hotchain's keys and signatures: OpenPGP signing (RPM header
// signatures, repomd.xml.asc) with the one rule for the time every signature carries
// (Signer.SignatureTime), key generation, the PEM tarball keys and their detached
// signatures, and the parsing of secret and public keys, with a message that says what to
// do for every key that cannot sign.
//
// Every key and signature file is read with a bound (MaxKeySize, MaxSignatureSize) and
// parsed from memory, so a crafted file cannot make hotchain allocate more than the bound.
//
// It lives under internal/ because its API serves packaging and repo and the command, not
// other programs. It writes no files: the callers write what it returns, atomically.
package sign
