package repo

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/gofrs/flock"

	"github.com/hotchain/hotchain/internal/testutil"
)

func TestServable(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "6.14.2")
	for _, d := range []string{"sub", ".hidden"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	outside := filepath.Join(top, "outside.rpm")
	for _, f := range []string{outside, filepath.Join(dir, "a.rpm"), filepath.Join(dir, "sub/b.rpm"), filepath.Join(dir, ".hidden/c.rpm")} {
		os.WriteFile(f, []byte("x"), 0o644)
	}
	links := map[string]string{
		"in.rpm":        "a.rpm",
		"sub/up.rpm":    "../a.rpm",
		"abs.rpm":       outside,
		"absinside.rpm": filepath.Join(dir, "a.rpm"),
		"rel.rpm":       "../outside.rpm",
		"dangling.rpm":  "missing.rpm",
		"dir.rpm":       "sub",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tt := range []struct {
		href string
		want string // in the error; "" for servable
	}{
		{"a.rpm", ""},
		{"sub/b.rpm", ""},
		{"in.rpm", ""},
		{"sub/up.rpm", ""},
		{"abs.rpm", "does not follow"},
		{"absinside.rpm", "does not follow"}, // os.Root follows no absolute symlink
		{"rel.rpm", "does not follow"},
		{"dangling.rpm", "symlink to nothing"},
		{"dir.rpm", "not a regular file"},
		{".hidden/c.rpm", ""}, // FindPackages' business
	} {
		err := servable(root, tt.href)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("servable(%s) = %v, want %q", tt.href, err, tt.want)
		}
	}
}

// TestSymlinkOutsideNotListed: a package that is a symlink out of the repository, or an
// absolute symlink (even to a package inside), is not in the metadata (hotchain serve
// would not serve it), with a warning; every package that is listed, a relative symlink
// inside the repository included, is served.
func TestSymlinkOutsideNotListed(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "6.14.2")
	os.Mkdir(dir, 0o755)
	pkgBase.build(t, dir, nil)
	elsewhere := filepath.Join(top, "elsewhere")
	os.Mkdir(elsewhere, 0o755)
	out := pkgFix1.build(t, elsewhere, nil)
	os.Symlink(out, filepath.Join(dir, pkgFix1.fileName()))
	os.Mkdir(filepath.Join(dir, "alias"), 0o755)
	os.Symlink("../"+pkgBase.fileName(), filepath.Join(dir, "alias", "base.rpm"))
	os.Symlink(filepath.Join(dir, pkgBase.fileName()), filepath.Join(dir, "absolute.rpm"))

	var log bytes.Buffer
	o := testOptions(dir)
	o.Log = &log
	res := mustBuild(t, o)
	for _, name := range []string{pkgFix1.fileName(), "absolute.rpm"} {
		if !regexp.MustCompile(regexp.QuoteMeta(name) + ".*not listed").MatchString(log.String()) {
			t.Errorf("no warning that %s is not listed; log:\n%s", name, log.String())
		}
	}
	if res.Packages != 2 {
		t.Errorf("%d packages, want 2", res.Packages)
	}
	pkgs, _ := readRepo(t, dir)
	url, _ := startServe(t, top)
	for _, p := range pkgs {
		if code := rawGet(t, url, "/6.14.2/"+p.Location); code != 200 {
			t.Errorf("listed package %s is served with status %d", p.Location, code)
		}
	}
	if names(pkgs) != "shop-hotfix-base shop-hotfix-base" {
		t.Errorf("packages %s", names(pkgs))
	}
}

// rpmK is the real rpm -K's verdict on a package, with key imported into a private
// database so that signatures are checked too.
func rpmK(t *testing.T, key []byte, pkg string) string {
	t.Helper()
	rpmCmd := testutil.RequireTool(t, "rpm")
	db := t.TempDir()
	keyFile := filepath.Join(db, "key.asc")
	os.WriteFile(keyFile, key, 0o644)
	if out, err := exec.Command(rpmCmd, "--dbpath", db, "--import", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v\n%s", err, out)
	}
	out, _ := exec.Command(rpmCmd, "--dbpath", db, "-K", pkg).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// TestTamperedPackageRefused: a signed package changed after it was built (a byte of its
// payload, or of its header) is refused with an error that names the file and what failed,
// as rpm -K finds it, whether the repository is signed or not; and the metadata stays
// byte for byte as it was.
func TestTamperedPackageRefused(t *testing.T) {
	vendor, _ := testKeys(t)
	dir := buildRepoDir(t, vendor, pkgBase, pkgFix1)
	key, err := vendor.PublicKeyArmored()
	if err != nil {
		t.Fatal(err)
	}
	if got := rpmK(t, key, filepath.Join(dir, pkgBase.fileName())); !strings.HasSuffix(got, "digests signatures OK") {
		t.Fatalf("rpm -K of an untouched package: %s", got)
	}
	for _, tt := range []struct {
		name   string
		offset func(data []byte) int
		want   []string
	}{
		{"payload", func(data []byte) int { return len(data) - 20 }, []string{"payload SHA256 digest BAD"}},
		{"header", func(data []byte) int {
			return bytes.Index(data, []byte("BUG-2: "))
		}, []string{"header SHA256 digest BAD"}},
	} {
		for _, signed := range []bool{true, false} {
			name := tt.name
			if !signed {
				name += " unsigned repository"
			}
			t.Run(name, func(t *testing.T) {
				o := testOptions(dir)
				if signed {
					o.Signer = vendor
				}
				mustBuild(t, o)
				p := pkgFix2.build(t, dir, vendor)
				defer os.Remove(p)
				data, _ := os.ReadFile(p)
				data[tt.offset(data)] ^= 0x40
				os.WriteFile(p, data, 0o644)
				if got := rpmK(t, key, p); !strings.Contains(got, "NOT OK") {
					t.Fatalf("rpm -K of the tampered package: %s, want NOT OK", got)
				}
				before := snapshot(t, dir)
				_, err := build(t, o)
				if err == nil {
					t.Fatal("tampered package published")
				}
				for _, w := range append(tt.want, pkgFix2.fileName(), "DIGESTS NOT OK") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				sameSnapshot(t, before, snapshot(t, dir))
			})
		}
	}
}

// sigMatches reports whether the repository's repomd.xml.asc is a good signature of its
// repomd.xml by the key in RPM-GPG-KEY-shop-hotfix.
func sigMatches(t *testing.T, dir string) bool {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	repomd, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	sig, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml.asc"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(repomd), bytes.NewReader(sig), nil)
	return err == nil
}

// TestAfterCreaterepoUpdate: the real createrepo_c --update over a signed repository
// leaves repomd.xml.asc behind, no longer matching; the next run signs again (with the
// key) or removes it (without), and says so.
func TestAfterCreaterepoUpdate(t *testing.T) {
	createrepo := testutil.RequireTool(t, "createrepo_c")
	vendor, _ := testKeys(t)
	dir := buildRepoDir(t, vendor, pkgBase, pkgFix1)
	o := testOptions(dir)
	o.Signer = vendor
	mustBuild(t, o)
	asc := filepath.Join(dir, "repodata", "repomd.xml.asc")
	update := func() {
		t.Helper()
		pkgFix2.build(t, dir, vendor)
		if out, err := exec.Command(createrepo, "--update", "--no-database", dir).CombinedOutput(); err != nil {
			t.Fatalf("createrepo_c --update: %v\n%s", err, out)
		}
		if _, err := os.Stat(asc); err != nil || sigMatches(t, dir) {
			t.Fatalf("after createrepo_c --update: repomd.xml.asc %v, matching %v; want a stale one", err, err == nil)
		}
	}
	update()
	// A run that fails keeps the metadata as it is, and says that its signature is stale.
	unsigned := pkgMeta.build(t, dir, nil)
	before := snapshot(t, dir)
	if _, err := build(t, o); err == nil || !strings.Contains(err.Error(), "repomd.xml.asc does not match repomd.xml") {
		t.Errorf("failed run over a stale signature: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, dir))
	os.Remove(unsigned)

	var log bytes.Buffer
	o.Log = &log
	if res := mustBuild(t, o); res.Reused != 3 {
		t.Errorf("reused %d of createrepo_c's entries, want 3", res.Reused)
	}
	if !sigMatches(t, dir) || !strings.Contains(log.String(), "repomd.xml.asc did not match repomd.xml") {
		t.Errorf("after a signed run: signature matches %v; log:\n%s", sigMatches(t, dir), log.String())
	}

	os.Remove(filepath.Join(dir, pkgFix2.fileName()))
	update()
	log.Reset()
	o.Signer = nil
	mustBuild(t, o)
	if _, err := os.Stat(asc); err == nil || !strings.Contains(log.String(), "repomd.xml.asc is removed") {
		t.Errorf("after an unsigned run: repomd.xml.asc still there (%v) or no warning; log:\n%s", err, log.String())
	}
}

// TestDebrisOfKilledRuns: a run removes the temporary directories that killed runs left,
// by their exact name pattern and only directories, and not while another run holds the
// repository's lock: it waits for that run.
func TestDebrisOfKilledRuns(t *testing.T) {
	dir := buildRepoDir(t, nil, pkgBase)
	o := testOptions(dir)
	mustBuild(t, o)
	debris := []string{".repodata.tmp-123", ".repodata.tmp-4567.old"}
	for _, d := range debris {
		os.MkdirAll(filepath.Join(dir, d, "sub"), 0o755)
		os.WriteFile(filepath.Join(dir, d, "repomd.xml"), []byte("x"), 0o644)
	}
	elsewhere := t.TempDir()
	keep := []string{".repodata.tmp-abc", ".repodata.tmp-", ".repodata.tmp-1", ".repodata.tmp-2", "repodata.tmp-3"}
	os.Mkdir(filepath.Join(dir, keep[0]), 0o755)
	os.Mkdir(filepath.Join(dir, keep[1]), 0o755)
	os.WriteFile(filepath.Join(dir, keep[2]), []byte("a file"), 0o644)
	os.Symlink(elsewhere, filepath.Join(dir, keep[3]))
	os.Mkdir(filepath.Join(dir, keep[4]), 0o755)

	held := flock.New(filepath.Join(dir, ".repodata.lock"))
	if err := held.Lock(); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	o.Log = log
	done := make(chan error, 1)
	go func() { _, err := Build(context.Background(), o); done <- err }()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("ran while another run held the lock: %v", err)
	default:
	}
	for _, d := range debris {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			t.Errorf("%s removed while another run held the lock", d)
		}
	}
	if !strings.Contains(log.String(), "waiting for another hotchain repo run") {
		t.Errorf("log does not say that it waits:\n%s", log.String())
	}
	held.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, d := range debris {
		if _, err := os.Lstat(filepath.Join(dir, d)); err == nil {
			t.Errorf("%s left", d)
		}
	}
	for _, k := range keep {
		if _, err := os.Lstat(filepath.Join(dir, k)); err != nil {
			t.Errorf("%s, not ours, removed", k)
		}
	}
}

// TestDebrisRestoresOldMetadata: a run killed between the two renames of the fallback
// exchange (file systems without RENAME_EXCHANGE) leaves no repodata/ and the old metadata
// in .repodata.tmp-N.old; the next run puts it back before anything else, so the update
// reuses its entries.
func TestDebrisRestoresOldMetadata(t *testing.T) {
	dir := buildRepoDir(t, nil, pkgBase, pkgFix1)
	o := testOptions(dir)
	mustBuild(t, o)
	if err := os.Rename(filepath.Join(dir, "repodata"), filepath.Join(dir, ".repodata.tmp-42.old")); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o.Log = &log
	if res := mustBuild(t, o); res.Reused != 2 || !strings.Contains(log.String(), "restored") {
		t.Errorf("reused %d, want 2; log:\n%s", res.Reused, log.String())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".repodata.tmp-*")); len(m) != 0 {
		t.Errorf("left: %v", m)
	}
}
