package sign

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/testutil"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

// bomb is the size of the crafted files of the report "runtime: out of memory: cannot
// allocate 1149239296-byte block": sparse, they cost no disk.
const bomb = 1096 << 20

func sparseFile(t *testing.T, name string, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestKeyAndSignatureBombs: every reader of a key or a signature refuses a file over its
// limit, by name, allocating little more than the limit. Before the bounds, each of them
// read the whole file: a 1 GiB file made hotchain run out of memory.
func TestKeyAndSignatureBombs(t *testing.T) {
	readers := []struct {
		name  string
		limit int64
		read  func(path string) error
		what  string
	}{
		{"LoadSigner", MaxKeySize, func(p string) error { _, err := LoadSigner(p); return err }, "signing key"},
		{"LoadTarballKey", MaxKeySize, func(p string) error { _, err := LoadTarballKey(p); return err }, "tarball key"},
		{"LoadTarballPublicKey", MaxKeySize, func(p string) error { _, err := LoadTarballPublicKey(p); return err }, "public key"},
		{"ReadSignatureFile", MaxSignatureSize, func(p string) error { _, err := ReadSignatureFile(p, "tarball signature"); return err }, "tarball signature"},
	}
	for _, r := range readers {
		for _, file := range []struct {
			kind string
			make func(t *testing.T) string
		}{
			{"sparse 1096 MiB", func(t *testing.T) string { return sparseFile(t, "big", bomb) }},
			{"one byte over", func(t *testing.T) string { return sparseFile(t, "big", r.limit+1) }},
		} {
			t.Run(r.name+"/"+file.kind, func(t *testing.T) {
				p := file.make(t)
				var err error
				n := testutil.Allocated(func() { err = r.read(p) })
				var tl *TooLargeError
				if !errors.As(err, &tl) {
					t.Fatalf("%v, want a *TooLargeError", err)
				}
				want := r.what + " " + p + " is larger than " + map[int64]string{MaxKeySize: "1024 KiB, the limit for a key", MaxSignatureSize: "64 KiB, the limit for a signature"}[r.limit]
				if err.Error() != want {
					t.Errorf("error %q\nwant  %q", err, want)
				}
				if tl.Hint() == "" {
					t.Error("no hint")
				}
				// io.ReadAll grows its buffer by doubling up to limit+1; -race allocates more.
				if max := uint64(5*r.limit + 1<<20); n > max {
					t.Errorf("allocated %d bytes, want at most %d", n, max)
				}
			})
		}
	}
}

// TestKeyAndSignatureFromFIFO: a key or signature at a named pipe without a writer is
// refused at once, naming path and kind; the open used to wait for a writer forever.
func TestKeyAndSignatureFromFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.sig")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() error{
		"ReadSignatureFile": func() error { _, err := ReadSignatureFile(p, "tarball signature"); return err },
		"ReadKeyFile":       func() error { _, err := ReadKeyFile(p, "repository key"); return err },
		"LoadTarballKey":    func() error { _, err := LoadTarballPublicKey(p); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- read() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), p+" is a named pipe, not a regular file") || !boundedio.IsNotRegular(err) {
				t.Errorf("%s: %v, want a refusal of the named pipe %s", name, err, p)
			}
		case <-time.After(30 * time.Second):
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close() // lets the waiting open return
			}
			t.Fatalf("%s still waits for a writer of the named pipe after 30 s", name)
		}
	}
}

// TestLimitsHoldRealKeys: a file of exactly the limit is read, and a real keyring of
// several keys (the tests' gpg keys, public and secret) is far below it.
func TestLimitsHoldRealKeys(t *testing.T) {
	for _, limit := range []int64{MaxKeySize, MaxSignatureSize} {
		p := sparseFile(t, "at-limit", limit)
		if b, err := readBounded(p, "key", limit); err != nil || int64(len(b)) != limit {
			t.Errorf("file of %d bytes, the limit: %d bytes, %v", limit, len(b), err)
		}
	}
	var ring []byte
	for _, k := range gpgTestKeys(t) {
		ring = append(append(ring, k.secret...), k.public...)
	}
	if len(ring) > MaxKeySize/8 {
		t.Errorf("the test keyring is %d bytes: is MaxKeySize (%d) too small for real keyrings?", len(ring), MaxKeySize)
	}
}

// TestPacketLengthBombs gives the key parser small files whose packets declare a gigabyte
// or more (new and old format lengths, partial lengths, a version 5 secret key whose
// secret claims 1.07 GiB, as go-crypto built with -tags v5 allocates it): each is refused
// with what is wrong and allocates little.
func TestPacketLengthBombs(t *testing.T) {
	body := bytes.Repeat([]byte{4}, 100)
	v5 := append([]byte{0xc5, 0, 5, 0, 0, 0, 0, 27, 0, 0, 0, 32}, bytes.Repeat([]byte{1}, 32)...)
	v5 = append(v5, 0, 0x44, 0x80, 0, 0)
	v5[1] = byte(len(v5) - 2)
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"new format, 1 GiB", append([]byte{0xc6, 0xff, 0x40, 0, 0, 0}, body...), "packet at byte 0 declares 1073741824 bytes, but only 100 follow"},
		{"old format, 1 GiB", append([]byte{0x9a, 0x40, 0, 0, 0}, body...), "packet at byte 0 declares 1073741824 bytes, but only 100 follow"},
		{"user ID of 4 GiB after a key", append(append([]byte{0xc6, 3, 4, 0, 0}, 0xcd, 0xff, 0xff, 0xff, 0xff, 0xff), body...), "packet at byte 5 declares 4294967295 bytes, but only 100 follow"},
		{"partial length, 1 GiB", append([]byte{0xc6, 0xe0 + 30}, body...), "partial body length in a key"},
		{"version 5 secret key", v5, "version 5 (LibrePGP) key"},
		{"truncated header", []byte{0xc6, 0xff, 0x40}, "header is truncated"},
		{"not a packet", []byte("hello"), "byte 0 is not the start of an OpenPGP packet"},
		{"armored, 1 GiB", armored(t, append([]byte{0xc6, 0xff, 0x40, 0, 0, 0}, body...)), "declares 1073741824 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := testutil.Allocated(func() { _, err = ParseSigner(tc.in, "KEY.asc", "", time.Now()) })
			if err == nil || !strings.Contains(err.Error(), "signing key KEY.asc is not an OpenPGP key: ") || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v\nwant one with %q", err, tc.err)
			}
			if n > 64<<10 {
				t.Errorf("allocated %d bytes for %d bytes of input", n, len(tc.in))
			}
		})
	}
}

func armored(t *testing.T, bin []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bin)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestArgon2Bomb: a secret key protected with an Argon2 string-to-key that asks for 2 TiB
// (memory exponent 31, which go-crypto accepts) is refused before it is unlocked; argon2
// would allocate it at once.
func TestArgon2Bomb(t *testing.T) {
	s, err := GenerateKey("Bomb", "bomb@example.com", Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &packet.Config{
		S2KConfig:  &s2k.Config{S2KMode: s2k.Argon2S2K, Argon2Config: &s2k.Argon2Config{NumberOfPasses: 1, DegreeOfParallelism: 1, Memory: 64}},
		AEADConfig: &packet.AEADConfig{},
	}
	if err := s.entity.EncryptPrivateKeys([]byte("pw"), cfg); err != nil {
		t.Fatal(err)
	}
	var bin bytes.Buffer
	if err := s.entity.SerializePrivateWithoutSigning(&bin, nil); err != nil {
		t.Fatal(err)
	}
	good := append([]byte(nil), bin.Bytes()...)
	if _, err := ParseSigner(good, "KEY.asc", "pw", time.Now()); err != nil {
		t.Fatalf("the key with a modest Argon2 (64 KiB): %v", err)
	}
	// Memory is encoded as its exponent: 64 KiB is 6, right after salt, passes and
	// parallelism. Raise every occurrence in the secret key packets to 31.
	crafted := bytes.ReplaceAll(good, []byte{1, 1, 6}, []byte{1, 1, 31})
	if bytes.Equal(crafted, good) {
		t.Fatal("no Argon2 parameters found to change")
	}
	n := testutil.Allocated(func() { _, err = ParseSigner(crafted, "KEY.asc", "pw", time.Now()) })
	if err == nil || !strings.Contains(err.Error(), "Argon2, 1 passes over 2^31 KiB") {
		t.Errorf("error %v, want the Argon2 parameters refused", err)
	}
	if n > 1<<20 {
		t.Errorf("allocated %d bytes", n)
	}
}
