package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
)

// fuzzNow is the time the fuzz targets check keys at.
var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	fuzzOnce   sync.Once
	fuzzSigner *Signer
	fuzzTKs    []*TarballKey
)

// fuzzKeys are an Ed25519 OpenPGP key and Ed25519 and RSA tarball keys, made once per
// process.
func fuzzKeys() (*Signer, []*TarballKey) {
	fuzzOnce.Do(func() {
		var err error
		if fuzzSigner, err = GenerateKey("Fuzz", "fuzz@example.com", Ed25519, fuzzNow.AddDate(-1, 0, 0)); err != nil {
			panic(err)
		}
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		fuzzTKs = []*TarballKey{{priv: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))}, {priv: rk}}
	})
	return fuzzSigner, fuzzTKs
}

// FuzzParseKey feeds the key parsers (OpenPGP secret and public keys, PEM private and
// public keys) arbitrary bytes. None may panic or allocate much more than it was given.
func FuzzParseKey(f *testing.F) {
	s, tks := fuzzKeys()
	secret, _ := s.SecretKeyArmored()
	public, _ := s.PublicKeyArmored()
	f.Add(secret)
	f.Add(public)
	if ring, err := parseKeyRing(secret); err == nil {
		var b bytes.Buffer
		ring[0].SerializePrivate(&b, nil)
		f.Add(b.Bytes())
	}
	for _, k := range tks {
		priv, _ := k.PrivatePEM()
		pub, _ := k.PublicPEM()
		f.Add(priv)
		f.Add(pub)
	}
	f.Add([]byte{0xc6, 0xff, 0x40, 0, 0, 0, 4, 0, 0, 0, 0, 22})
	f.Add([]byte{0xc5, 0xe0 + 30, 4})
	f.Add([]byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxcA=\n-----END PGP PRIVATE KEY BLOCK-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxKeySize {
			return
		}
		n := testutil.Allocated(func() {
			// No passphrase: an encrypted key stops before it is unlocked. Unlocking may
			// legitimately take a second (an iterated S2K asks for up to 65 million hash
			// rounds), which would stall the fuzzer; the unit tests unlock real keys.
			if s, err := ParseSigner(data, "KEY", "", fuzzNow); err == nil {
				// A key that loads must sign, at a time its rule gives, or say why not.
				if _, err := s.Sign([]byte("x")); err != nil {
					if _, terr := s.SignatureTime(s.Time); terr == nil {
						t.Fatalf("a key that loads and has a signature time does not sign: %v", err)
					}
				}
			}
			ParseTarballKey(data, "KEY", "", fuzzNow)
			ParseTarballPublicKey(data, "KEY")
		})
		if max := uint64(1<<20 + 256*len(data)); n > max {
			t.Fatalf("%d bytes of input allocated %d bytes", len(data), n)
		}
	})
}

// FuzzTarballSignature checks arbitrary signatures of arbitrary data with the tarball
// keys: none may panic, and only the one signature the key makes of the data (both
// algorithms are deterministic) may pass. The public key parser gets the signature bytes
// too, as a .sig and a pub.pem are both files a host reads.
func FuzzTarballSignature(f *testing.F) {
	_, tks := fuzzKeys()
	for _, k := range tks {
		data := []byte("a tarball")
		sig, _ := k.Sign(data)
		f.Add(data, sig)
		f.Add(data, sig[:len(sig)-1])
	}
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, data, sig []byte) {
		if len(sig) > MaxSignatureSize {
			return
		}
		for _, k := range tks {
			pemPub, _ := k.PublicPEM()
			pub, err := ParseTarballPublicKey(pemPub, "pub.pem")
			if err != nil {
				t.Fatal(err)
			}
			if pub.Verify(data, sig) == nil {
				want, err := k.Sign(data)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sig, want) {
					t.Fatalf("%s: a signature other than the key's passes: %x", k.Algorithm(), sig)
				}
			}
		}
		ParseTarballPublicKey(sig, "sig")
	})
}
