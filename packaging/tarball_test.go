package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/internal/sign"
)

// TestTarballContent checks that the tarball holds what the RPM holds, in one directory,
// sorted, owned by 0:0, with the build time, and a gzip header without name or time.
func TestTarballContent(t *testing.T) {
	res := buildSample(t, sampleDir(t, nil), BuildOptions{})
	data, err := os.ReadFile(res.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	// gzip header: flags (byte 3) without FNAME, MTIME (bytes 4-7) zero.
	if data[3]&0x08 != 0 || !bytes.Equal(data[4:8], []byte{0, 0, 0, 0}) {
		t.Errorf("gzip header carries a name or time: % x", data[:10])
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	type meta struct {
		mode int64
		link string
		body string
	}
	got := map[string]meta{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" {
			t.Errorf("%s owned by %d:%d (%s:%s)", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(sde) {
			t.Errorf("%s mtime %v, want %v", h.Name, h.ModTime, sde)
		}
		body, _ := io.ReadAll(tr)
		name := strings.TrimSuffix(h.Name, "/")
		names = append(names, name)
		got[name] = meta{h.Mode, h.Linkname, string(body)}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not in byte order: %s before %s", names[i-1], names[i])
		}
	}
	// Compare with the RPM: same paths (under the patches directory), modes, links, sizes.
	p := openRPM(t, res.RPM)
	modes := p.Header.GetTag(1030).Int64Slice()
	if len(p.Files()) != len(got) {
		t.Errorf("the RPM holds %d entries, the tarball %d", len(p.Files()), len(got))
	}
	for i, f := range p.Files() {
		rel := strings.TrimPrefix(f.Name(), "/var/opt/shop/Patches/")
		m, ok := got[rel]
		if !ok {
			t.Errorf("%s is in the RPM, not in the tarball", rel)
			continue
		}
		if want := modes[i] & 0o7777; m.mode != want {
			t.Errorf("%s mode %o in the tarball, %o in the RPM", rel, m.mode, want)
		}
		if m.link != f.Linkname() {
			t.Errorf("%s links to %q in the tarball, %q in the RPM", rel, m.link, f.Linkname())
		}
		if !f.IsDir() && f.Linkname() == "" && int64(len(m.body)) != f.Size() {
			t.Errorf("%s is %d bytes in the tarball, %d in the RPM", rel, len(m.body), f.Size())
		}
	}
	if !strings.Contains(got["shop-hotfix-6.14.2.3/filelist.txt"].body, "  FileChanges/lib/Shop/Cart.pm\n") {
		t.Errorf("filelist.txt in the tarball: %q", got["shop-hotfix-6.14.2.3/filelist.txt"].body)
	}
}

// TestTarballSignatureOpenSSL checks the .sig with openssl, as the vendor documents it.
func TestTarballSignatureOpenSSL(t *testing.T) {
	testutil.RequireTool(t, "openssl")
	src := sampleDir(t, nil)
	for _, algo := range []sign.KeyAlgorithm{sign.RSA, sign.Ed25519} {
		t.Run(string(algo), func(t *testing.T) {
			k, err := sign.TarballKeyFromSigner(testSigner(t, algo))
			if err != nil {
				t.Fatal(err)
			}
			pub := writePub(t, k)
			res := buildSample(t, src, BuildOptions{TarballKey: k})
			if res.Signature != res.Tarball+".sig" {
				t.Fatalf("signature %q", res.Signature)
			}
			args := strings.Fields(sign.VerifyCommand(algo, pub, res.Tarball, res.Signature))
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified") {
				t.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
			}
			if algo == sign.RSA && args[1] != "dgst" {
				t.Errorf("RSA signatures are checked with openssl dgst -sha256, not %s", args[1])
			}
			if err := unpack.VerifyTarball(res.Tarball, res.Signature, pub); err != nil {
				t.Errorf("VerifyTarball: %v", err)
			}

			// A flipped byte in the tarball, or in the signature, fails both checks.
			for _, target := range []string{res.Tarball, res.Signature} {
				data, _ := os.ReadFile(target)
				orig := append([]byte(nil), data...)
				data[len(data)/2] ^= 0x01
				os.WriteFile(target, data, 0o644)
				if err := unpack.VerifyTarball(res.Tarball, res.Signature, pub); !errors.Is(err, unpack.ErrBadSignature) {
					t.Errorf("VerifyTarball with a flipped byte in %s: %v, want unpack.ErrBadSignature", filepath.Base(target), err)
				}
				if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err == nil {
					t.Errorf("openssl accepts a flipped byte in %s: %s", filepath.Base(target), out)
				}
				os.WriteFile(target, orig, 0o644)
			}
		})
	}
}

func TestVerifyTarballWrongKey(t *testing.T) {
	k, err := sign.TarballKeyFromSigner(testSigner(t, sign.Ed25519))
	if err != nil {
		t.Fatal(err)
	}
	res := buildSample(t, sampleDir(t, nil), BuildOptions{TarballKey: k})
	other, err := sign.GenerateKey("Other", "other@example.com", sign.Ed25519, keyTime)
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := sign.TarballKeyFromSigner(other)
	rsaKey, _ := sign.TarballKeyFromSigner(testSigner(t, sign.RSA))
	for _, wrong := range []*sign.TarballKey{ok, rsaKey} {
		err := unpack.VerifyTarball(res.Tarball, res.Signature, writePub(t, wrong))
		if !errors.Is(err, unpack.ErrBadSignature) {
			t.Errorf("VerifyTarball with another %s key: %v, want unpack.ErrBadSignature", wrong.Algorithm(), err)
		}
		var h interface{ Hint() string }
		if !errors.As(err, &h) || h.Hint() == "" {
			t.Errorf("no hint with %v", err)
		}
	}
	if err := unpack.VerifyTarball(res.Tarball, res.Signature, res.Tarball); err == nil || !strings.Contains(err.Error(), "not PEM") {
		t.Errorf("VerifyTarball with a non-key: %v", err)
	}
}

func writePub(t *testing.T, k *sign.TarballKey) string {
	t.Helper()
	pem, err := k.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(p, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReproducible builds twice, signed, from two copies of the source with different
// file times, and wants the same bytes; another SOURCE_DATE_EPOCH gives other bytes.
func TestReproducible(t *testing.T) {
	signer := testSigner(t, sign.RSA)
	tk, err := sign.TarballKeyFromSigner(testSigner(t, sign.Ed25519))
	if err != nil {
		t.Fatal(err)
	}
	o := BuildOptions{Signer: signer, TarballKey: tk, Time: sde}
	a := buildSample(t, sampleDir(t, nil), o)
	src := sampleDir(t, nil)
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	setTimes(t, src, old)
	b := buildSample(t, src, o)
	for _, pair := range [][2]string{{a.RPM, b.RPM}, {a.Tarball, b.Tarball}, {a.Signature, b.Signature}} {
		x, _ := os.ReadFile(pair[0])
		y, _ := os.ReadFile(pair[1])
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two builds with the same SOURCE_DATE_EPOCH", filepath.Base(pair[0]))
		}
	}
	o.Time = sde.Add(time.Hour)
	c := buildSample(t, src, o)
	x, _ := os.ReadFile(a.RPM)
	y, _ := os.ReadFile(c.RPM)
	if bytes.Equal(x, y) {
		t.Error("another SOURCE_DATE_EPOCH gives the same RPM")
	}
}

// TestDefaultTime: without SOURCE_DATE_EPOCH the time is the newest file mtime, so an
// unchanged directory rebuilds to the same bytes.
func TestDefaultTime(t *testing.T) {
	src := sampleDir(t, nil)
	newest := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	older := newest.Add(-48 * time.Hour)
	setTimes(t, src, older)
	os.Chtimes(filepath.Join(src, "install.txt"), newest, newest)
	// A newer directory mtime does not count: directories change when files come and go.
	os.Chtimes(filepath.Join(src, "FileChanges"), newest.Add(time.Hour), newest.Add(time.Hour))
	o := BuildOptions{Product: "shop", OutDir: t.TempDir()}
	res, err := Build(src, o)
	if err != nil {
		t.Fatal(err)
	}
	p := openRPM(t, res.RPM)
	if !p.BuildTime().Equal(newest) {
		t.Errorf("build time %v, want the newest file mtime %v", p.BuildTime(), newest)
	}
	for _, f := range p.Files() {
		if !f.ModTime().Equal(newest) {
			t.Errorf("%s mtime %v, want %v", f.Name(), f.ModTime(), newest)
		}
	}
	first, _ := os.ReadFile(res.RPM)
	res2, err := Build(src, BuildOptions{Product: "shop", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(res2.RPM)
	if !bytes.Equal(first, second) {
		t.Error("two builds of an unchanged directory differ")
	}
}

func TestParseSourceDateEpoch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"0", time.Unix(0, 0).UTC(), false},
		{"1767323045", sde, false},
		{"-1", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"99999999999", time.Time{}, true},
	} {
		got, err := ParseSourceDateEpoch(tc.in)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("ParseSourceDateEpoch(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH=") {
			t.Errorf("error does not name the variable: %v", err)
		}
	}
}

// setTimes sets the mtime of everything under dir, symlinks themselves included.
func setTimes(t *testing.T, dir string, when time.Time) {
	t.Helper()
	ts := unix.NsecToTimespec(when.UnixNano())
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVerifyTarballBombs: a crafted .sig or TARBALL_KEY of a gigabyte (sparse, it costs
// nothing to make) is refused by name before it is read. It used to be read whole:
// "runtime: out of memory: cannot allocate 1153433600-byte block".
func TestVerifyTarballBombs(t *testing.T) {
	k, err := sign.TarballKeyFromSigner(testSigner(t, sign.Ed25519))
	if err != nil {
		t.Fatal(err)
	}
	res := buildSample(t, sampleDir(t, nil), BuildOptions{TarballKey: k})
	pub := writePub(t, k)
	big := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1096 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct{ name, sig, pub, want string }{
		{"signature", big, pub, "tarball signature " + big + " is larger than 64 KiB, the limit for a signature"},
		{"public key", res.Signature, big, "public key " + big + " is larger than 1024 KiB, the limit for a key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := unpack.VerifyTarball(res.Tarball, tc.sig, tc.pub)
			runtime.ReadMemStats(&after)
			if err == nil || err.Error() != tc.want {
				t.Errorf("VerifyTarball: %v\nwant %s", err, tc.want)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("allocated %d bytes", n)
			}
		})
	}
}
