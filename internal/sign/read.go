package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/hotchain/hotchain/internal/boundedio"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// The most hotchain reads of a key or a signature. A crafted file can be any size (a
// sparse file of a gigabyte costs nothing to make), and reading it whole made hotchain
// allocate that much and die; bigger files are refused before they are read.
const (
	// MaxKeySize bounds a key file: an OpenPGP key, secret or public, armored or binary,
	// or a PEM key. A vendor key is a few KiB (3072-bit RSA with a subkey, armored: about
	// 7 KiB); a public keyring of several keys with many certifications some hundred KiB.
	MaxKeySize = 1 << 20
	// MaxSignatureSize bounds a detached signature: a tarball's .sig (64 bytes for
	// Ed25519, 512 for 4096-bit RSA) or an OpenPGP signature (armored, a few hundred bytes;
	// with many notations a few KiB).
	MaxSignatureSize = 64 << 10
)

// TooLargeError is a key or signature file over its limit.
type TooLargeError struct {
	What  string // "signing key", "tarball signature", ...
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s %s is larger than %d KiB, the limit for a %s", e.What, e.Path, e.Limit>>10, kind(e.Limit))
}

// Hint is the next step, for the CLI's hint: line.
func (e *TooLargeError) Hint() string {
	if e.Limit == MaxSignatureSize {
		return "a signature is a few hundred bytes: the file is damaged or not a signature; get it again from the vendor"
	}
	return "a key is a few KiB: check that the path names the key file, or export the one key needed (gpg --export[-secret-keys] --armor KEYID)"
}

func kind(limit int64) string {
	if limit == MaxSignatureSize {
		return "signature"
	}
	return "key"
}

// ReadKeyFile reads a key file of at most MaxKeySize bytes; what names it in messages.
func ReadKeyFile(path, what string) ([]byte, error) { return readBounded(path, what, MaxKeySize) }

// ReadSignatureFile reads a signature file of at most MaxSignatureSize bytes; what names it
// in messages.
func ReadSignatureFile(path, what string) ([]byte, error) {
	return readBounded(path, what, MaxSignatureSize)
}

// readBounded reads path with boundedio, refusing a file over limit with this package's
// *TooLargeError, whose hint speaks of keys and signatures.
func readBounded(path, what string, limit int64) ([]byte, error) {
	data, err := boundedio.ReadFile(path, what, limit)
	switch {
	case boundedio.IsTooLarge(err):
		return nil, &TooLargeError{what, path, limit}
	case boundedio.IsNotRegular(err): // it names what and path
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return data, nil
}

// isOpenPGP tells an OpenPGP key file (armored, or binary: the first octet of a packet has
// its high bit set) from a PEM one.
func isOpenPGP(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN PGP")) || (len(data) > 0 && data[0]&0x80 != 0)
}

// parseKeyRing parses an OpenPGP keyring, armored or binary, that is already in memory
// (read with a bound). The packets are checked to lie within the bytes before go-crypto
// parses them, so that no length a packet declares makes it allocate more than is there.
func parseKeyRing(data []byte) (openpgp.EntityList, error) {
	bin := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(t))
		if err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("armor holds a %q, not a key", block.Type)
		}
		// Base64 decodes to fewer bytes than it takes: the bound holds.
		if bin, err = io.ReadAll(io.LimitReader(block.Body, int64(len(data)))); err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
	}
	if err := checkPackets(bin); err != nil {
		return nil, err
	}
	return openpgp.ReadKeyRing(bytes.NewReader(bin))
}

// checkPackets walks the OpenPGP packet framing of a keyring (RFC 9580 section 4.2) and
// fails unless every packet lies within b. Keys never use partial body lengths, which
// only data packets may; an old-format packet of indeterminate length runs to the end.
func checkPackets(b []byte) error {
	if len(b) == 0 {
		return errors.New("no packets")
	}
	for off := 0; off < len(b); {
		tag := b[off]
		if tag&0x80 == 0 {
			return fmt.Errorf("byte %d is not the start of an OpenPGP packet", off)
		}
		hdr, n, err := packetLength(b[off:])
		if err != nil {
			return fmt.Errorf("packet at byte %d: %w", off, err)
		}
		if n < 0 {
			return nil // indeterminate: the rest of the file
		}
		if rest := int64(len(b) - off - hdr); n > rest {
			return fmt.Errorf("packet at byte %d declares %d bytes, but only %d follow: the key is truncated or damaged", off, n, rest)
		}
		// A version 5 (LibrePGP) secret key declares the size of its secret in 4 bytes,
		// which go-crypto, built with -tags v5, allocates before reading: refuse them, as
		// rpm does (it verifies signatures of v4 keys, rpm-sequoia of v4 and v6).
		body := b[off+hdr : off+hdr+int(n)]
		if t := packetTag(tag); (t == 5 || t == 7 || t == 6 || t == 14) && n > 0 && body[0] == 5 {
			return fmt.Errorf("packet at byte %d is a version 5 (LibrePGP) key, which rpm cannot use: use a version 4 key", off)
		}
		if t := packetTag(tag); t == 5 || t == 7 {
			if err := checkArgon2(body); err != nil {
				return fmt.Errorf("packet at byte %d: %w", off, err)
			}
		}
		off += hdr + int(n)
	}
	return nil
}

// The most an Argon2-protected secret key may ask of the passphrase's derivation: argon2
// allocates 2^memoryExp KiB at once, and a crafted key asks for up to 2 TiB. RFC 9580
// recommends 2 GiB with one pass or 64 MiB with three; gpg does not use Argon2 for keys.
const (
	maxArgon2MemoryExp = 18 // 256 MiB
	maxArgon2Passes    = 16
)

// checkArgon2 refuses a secret key packet body (RFC 9580 section 5.5.3) whose secret is
// protected with an Argon2 string-to-key that asks for more than maxArgon2MemoryExp or
// maxArgon2Passes: go-crypto would run it, and allocate the memory, when it is unlocked.
func checkArgon2(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	v := body[0]
	if v != 4 && v != 6 {
		return nil
	}
	// The public part: re-framed as a public key packet, go-crypto parses it and says
	// how long it is.
	p, err := packet.Read(io.MultiReader(bytes.NewReader([]byte{0xc6, 0xff, byte(len(body) >> 24), byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}), bytes.NewReader(body)))
	pub, ok := p.(*packet.PublicKey)
	if err != nil || !ok {
		return nil // not a key go-crypto reads: it refuses it later
	}
	var ser bytes.Buffer
	if err := pub.Serialize(&ser); err != nil {
		return nil
	}
	hdrLen, _, _ := packetLength(ser.Bytes())
	i := ser.Len() - hdrLen // the string-to-key usage octet
	if i >= len(body) {
		return nil
	}
	usage := body[i]
	if usage != 253 && usage != 254 && usage != 255 {
		return nil
	}
	i++
	if v == 6 {
		i++ // the count of the fields that follow
	}
	i++ // cipher
	if usage == 253 {
		i++ // AEAD mode
	}
	if v == 6 {
		i++ // the count of the string-to-key specifier
	}
	// type 4 (Argon2), 16 octets of salt, passes, parallelism, memory exponent
	if i+20 > len(body) || body[i] != 4 {
		return nil
	}
	if passes, exp := body[i+17], body[i+19]; exp > maxArgon2MemoryExp || passes > maxArgon2Passes {
		return fmt.Errorf("the secret key's passphrase protection (Argon2, %d passes over 2^%d KiB) asks more than hotchain gives it (%d passes, %d MiB)", passes, exp, maxArgon2Passes, 1<<(maxArgon2MemoryExp-10))
	}
	return nil
}

// packetTag is the packet type of a packet whose first octet is tag.
func packetTag(tag byte) byte {
	if tag&0x40 == 0 {
		return tag >> 2 & 0xf
	}
	return tag & 0x3f
}

// packetLength is the size of the packet header at the start of b and the body length it
// declares; -1 is an old-format packet of indeterminate length.
func packetLength(b []byte) (hdr int, n int64, err error) {
	short := errors.New("header is truncated")
	if b[0]&0x40 == 0 { // old format
		switch b[0] & 3 {
		case 0:
			if len(b) < 2 {
				return 0, 0, short
			}
			return 2, int64(b[1]), nil
		case 1:
			if len(b) < 3 {
				return 0, 0, short
			}
			return 3, int64(b[1])<<8 | int64(b[2]), nil
		case 2:
			if len(b) < 5 {
				return 0, 0, short
			}
			return 5, int64(b[1])<<24 | int64(b[2])<<16 | int64(b[3])<<8 | int64(b[4]), nil
		}
		return 1, -1, nil
	}
	if len(b) < 2 {
		return 0, 0, short
	}
	switch l := b[1]; {
	case l < 192:
		return 2, int64(l), nil
	case l < 224:
		if len(b) < 3 {
			return 0, 0, short
		}
		return 3, (int64(l)-192)<<8 + int64(b[2]) + 192, nil
	case l == 255:
		if len(b) < 6 {
			return 0, 0, short
		}
		return 6, int64(b[2])<<24 | int64(b[3])<<16 | int64(b[4])<<8 | int64(b[5]), nil
	}
	return 0, 0, errors.New("partial body length in a key")
}
