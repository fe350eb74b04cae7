package bundle

import (
	"archive/tar"
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// TestBundleRoundTrip: write's file and signature are what ReadVerifiedBundle
// accepts and unpacks, byte for byte; the same input gives the same bytes; a bundle checked
// with another key, a FIFO and a damaged copy are refused with nothing written.
func TestBundleRoundTrip(t *testing.T) {
	files := map[string]string{
		"shop-hotfix-6_14_2_2-1-0.noarch.rpm": "rpm 2",
		"shop-hotfix-6_14_2_3-1-1.noarch.rpm": "rpm 3",
		"repodata/repomd.xml":                 "<repomd/>",
		"repodata/repomd.xml.asc":             "signature",
		"repodata/abc-primary.xml.gz":         "primary",
	}
	stage := t.TempDir()
	os.Mkdir(filepath.Join(stage, "repodata"), 0o755)
	m := &unpack.BundleManifest{Schema: unpack.BundleSchema, Product: "shop", Base: "6.14.2", From: "6.14.2.2", To: "6.14.2.3",
		Packages: []unpack.BundlePackage{
			{Version: "6.14.2.2", Name: "shop-hotfix-6_14_2_2", EVR: "1-0", File: "shop-hotfix-6_14_2_2-1-0.noarch.rpm"},
			{Version: "6.14.2.3", Name: "shop-hotfix-6_14_2_3", EVR: "1-1", File: "shop-hotfix-6_14_2_3-1-1.noarch.rpm"},
		}}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(stage, p), []byte(files[p]), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := fileEntry(stage, p)
		if err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, f)
	}
	vendor, other := testKeys(t)
	key, err := sign.TarballKeyFromSigner(vendor)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := key.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParseTarballPublicKey(pubPEM, "pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.tar")
	if err := write(out, stage, m, testEpoch, key); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "b.tar")
	if err := write(out2, stage, m, testEpoch, key); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("two bundles of the same files differ")
	}
	tr := tar.NewReader(bytes.NewReader(a))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(testEpoch) || h.Format != tar.FormatPAX && h.Format != tar.FormatUSTAR {
			t.Errorf("%s: owner %d:%d, mtime %s, format %v", h.Name, h.Uid, h.Gid, h.ModTime, h.Format)
		}
	}

	dest := t.TempDir()
	got, err := unpack.VerifiedBundle(out, out+".sig", pub, "pub.pem", dest)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != filepath.Join(dest, "shop-hotfix-bundle-6.14.2.2-6.14.2.3") || got.Manifest.To != "6.14.2.3" {
		t.Errorf("bundle %+v", got)
	}
	for p, body := range files {
		if data, err := os.ReadFile(filepath.Join(got.Dir, p)); err != nil || string(data) != body {
			t.Errorf("%s = %q, %v; want %q", p, data, err, body)
		}
	}

	otherKey, err := sign.TarballKeyFromSigner(other)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM, _ := otherKey.PublicPEM()
	otherPub, err := sign.ParseTarballPublicKey(otherPEM, "other.pem")
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo.tar")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fifoSig := filepath.Join(t.TempDir(), "b.tar.sig") // no writer: its open used to wait forever
	if err := syscall.Mkfifo(fifoSig, 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.tar")
	a[len(a)/2] ^= 1
	os.WriteFile(damaged, a, 0o644)
	os.WriteFile(damaged+".sig", mustRead(t, out+".sig"), 0o644)
	for _, tc := range []struct {
		name, path string
		sig        string // out.sig if empty
		pub        *sign.TarballPublicKey
		want       string
	}{
		{"another key", out, "", otherPub, "signature does not match"},
		{"FIFO", fifo, "", pub, "is a named pipe, not a regular file"},
		{"FIFO signature", out, fifoSig, pub, "bundle signature " + fifoSig + " is a named pipe, not a regular file: refused"},
		{"damaged", damaged, "", pub, "signature does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			sig := tc.sig
			if sig == "" {
				sig = out + ".sig"
			}
			_, err := unpack.VerifiedBundle(tc.path, sig, tc.pub, "k.pem", dest)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			if left, _ := os.ReadDir(dest); len(left) != 0 {
				t.Errorf("wrote %d entries", len(left))
			}
		})
	}
}

// mustRead is the content of the file p.
func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
