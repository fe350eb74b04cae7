package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"
)

func TestWriteKeyFiles(t *testing.T) {
	for _, algo := range []sign.KeyAlgorithm{sign.RSA, sign.Ed25519} {
		t.Run(string(algo), func(t *testing.T) {
			s := testSigner(t, algo)
			prefix := filepath.Join(t.TempDir(), "vendor")
			kf, err := WriteKeyFiles(s, prefix)
			if err != nil {
				t.Fatal(err)
			}
			for p, mode := range map[string]os.FileMode{kf.Secret: 0o600, kf.Public: 0o644, kf.TarballSecret: 0o600, kf.TarballPublic: 0o644} {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s mode %v, want %v", filepath.Base(p), st.Mode().Perm(), mode)
				}
			}
			if kf.Secret != prefix+".asc" || kf.Public != prefix+".pub.asc" || kf.TarballSecret != prefix+".pem" || kf.TarballPublic != prefix+".pub.pem" {
				t.Errorf("file names %+v", kf)
			}
			// The secret key loads as a signer with the same key id.
			back, err := sign.LoadSigner(kf.Secret)
			if err != nil {
				t.Fatal(err)
			}
			if back.KeyID() != s.KeyID() {
				t.Errorf("key id %s, want %s", back.KeyID(), s.KeyID())
			}
			// The PEM key, and the OpenPGP key used as a tarball key, are the same key.
			pubPEM, _ := os.ReadFile(kf.TarballPublic)
			for _, p := range []string{kf.TarballSecret, kf.Secret} {
				k, err := sign.LoadTarballKey(p)
				if err != nil {
					t.Fatalf("sign.LoadTarballKey(%s): %v", filepath.Base(p), err)
				}
				if k.Algorithm() != algo {
					t.Errorf("%s: algorithm %s", filepath.Base(p), k.Algorithm())
				}
				got, _ := k.PublicPEM()
				if !bytes.Equal(got, pubPEM) {
					t.Errorf("%s gives another public key than %s", filepath.Base(p), filepath.Base(kf.TarballPublic))
				}
			}
			// Existing files are never overwritten.
			before, _ := os.ReadFile(kf.Secret)
			if _, err := WriteKeyFiles(testSigner(t, algo), prefix); err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Errorf("second WriteKeyFiles: %v", err)
			}
			if after, _ := os.ReadFile(kf.Secret); !bytes.Equal(before, after) {
				t.Error("the secret key was overwritten")
			}
		})
	}
}

// TestTarballKeysFromOpenSSL signs with keys openssl made and checks with openssl.
func TestTarballKeysFromOpenSSL(t *testing.T) {
	testutil.RequireTool(t, "openssl")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		gen  []string
		algo sign.KeyAlgorithm
	}{
		{"ed25519", []string{"genpkey", "-algorithm", "ed25519", "-out", "KEY"}, sign.Ed25519},
		{"rsa-pkcs8", []string{"genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "KEY"}, sign.RSA},
		{"rsa-pkcs1", []string{"genrsa", "-traditional", "-out", "KEY", "2048"}, sign.RSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := filepath.Join(dir, tc.name+".pem")
			pub := filepath.Join(dir, tc.name+".pub.pem")
			for i, a := range tc.gen {
				if a == "KEY" {
					tc.gen[i] = key
				}
			}
			run(t, "openssl", tc.gen...)
			if tc.name == "rsa-pkcs1" {
				if b, _ := os.ReadFile(key); !bytes.HasPrefix(b, []byte("-----BEGIN RSA PRIVATE KEY-----")) {
					t.Fatalf("openssl wrote no PKCS#1 key: %.40s", b)
				}
			}
			run(t, "openssl", "pkey", "-in", key, "-pubout", "-out", pub)
			k, err := sign.LoadTarballKey(key)
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm() != tc.algo {
				t.Errorf("algorithm %s, want %s", k.Algorithm(), tc.algo)
			}
			data := filepath.Join(dir, tc.name+".data")
			os.WriteFile(data, []byte("hotfix tarball stand-in\n"), 0o644)
			sig, err := k.Sign([]byte("hotfix tarball stand-in\n"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(data+".sig", sig, 0o644)
			args := strings.Fields(sign.VerifyCommand(tc.algo, pub, data, data+".sig"))
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v %s", strings.Join(args, " "), err, out)
			}
			if err := unpack.VerifyTarball(data, data+".sig", pub); err != nil {
				t.Errorf("VerifyTarball: %v", err)
			}
		})
	}
}

func TestLoadTarballKeyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"garbage", "hello", "neither PEM nor OpenPGP"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", `"CERTIFICATE" block`},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "is encrypted"},
		{"public only", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEaAAAABYJKwYBBAHaRw8BAQdA\n-----END PGP PUBLIC KEY BLOCK-----\n", "signing key"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o600)
		if _, err := sign.LoadTarballKey(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
