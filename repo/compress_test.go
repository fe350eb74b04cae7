package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

// recompressZstd turns the gzip metadata of the repository in dir into what createrepo_c
// 1.x writes by default (Debian 12's createrepo_c 0.17 cannot write zstd): each file
// decompressed and compressed again by the real zstd command, named .xml.zst, with its
// checksum and size in repomd.xml; the open-checksum and open-size stay as they are.
func recompressZstd(t *testing.T, dir string) {
	t.Helper()
	zstdCmd := testutil.RequireTool(t, "zstd")
	repomdPath := filepath.Join(dir, "repodata", "repomd.xml")
	repomd, err := os.ReadFile(repomdPath)
	if err != nil {
		t.Fatal(err)
	}
	locs, err := metadataLocations(repomd)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(locs["primary"].href, ".zst") {
		return // createrepo_c 1.x (the Debian 13 lane) wrote zstd itself: the real thing
	}
	text := string(repomd)
	for _, typ := range []string{"primary", "filelists", "other"} {
		l := locs[typ]
		gz, err := os.ReadFile(filepath.Join(dir, l.href))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := decompress(gz)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(zstdCmd, "-q", "-c")
		cmd.Stdin = bytes.NewReader(plain)
		zst, err := cmd.Output()
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		sum := sha256.Sum256(zst)
		newSum := hex.EncodeToString(sum[:])
		href := "repodata/" + newSum + "-" + typ + ".xml.zst"
		if err := os.WriteFile(filepath.Join(dir, href), zst, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, l.href))
		text = strings.ReplaceAll(text, l.href, href)
		text = strings.ReplaceAll(text, "<checksum type=\"sha256\">"+l.sha256, "<checksum type=\"sha256\">"+newSum)
		text = strings.ReplaceAll(text, "<size>"+strconv.Itoa(len(gz))+"</size>", "<size>"+strconv.Itoa(len(zst))+"</size>")
	}
	if err := os.WriteFile(repomdPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateOverOtherCompressions: metadata that createrepo_c wrote in xz or bzip2, or in
// zstd as createrepo_c 1.x writes by default, is reused (every entry, no warning), and the
// result is what createrepo_c wrote.
func TestUpdateOverOtherCompressions(t *testing.T) {
	createrepo := testutil.RequireTool(t, "createrepo_c")
	src := buildRepoDir(t, nil, testPkgs...)
	for _, tt := range []struct {
		name string
		args []string
		ext  string
		post func(t *testing.T, dir string)
	}{
		{"xz", []string{"--general-compress-type=xz"}, ".xml.xz", nil},
		{"bzip2", []string{"--general-compress-type=bz2"}, ".xml.bz2", nil},
		{"zstd as createrepo_c 1.x writes it", nil, ".xml.zst", recompressZstd},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "6.14.2")
			copyDir(t, src, dir)
			args := append([]string{"--no-database"}, tt.args...)
			if out, err := exec.Command(createrepo, append(args, dir)...).CombinedOutput(); err != nil {
				t.Fatalf("createrepo_c: %v\n%s", err, out)
			}
			if tt.post != nil {
				tt.post(t, dir)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "repodata", "*-primary"+tt.ext)); len(m) != 1 {
				t.Fatalf("no primary%s in createrepo_c's repodata", tt.ext)
			}
			want, _ := readRepo(t, dir)
			var log bytes.Buffer
			o := testOptions(dir)
			o.Log = &log
			res := mustBuild(t, o)
			if res.Reused != len(testPkgs) || strings.Contains(log.String(), "warning") {
				t.Errorf("reused %d of %d entries; log:\n%s", res.Reused, len(testPkgs), log.String())
			}
			got, _ := readRepo(t, dir)
			comparePkgs(t, got, want)
		})
	}
}

// TestOldMetadataWarnings: old metadata that cannot be decompressed is not reused, and the
// warning says why (not "no <metadata> element", which sent users looking at the XML).
func TestOldMetadataWarnings(t *testing.T) {
	dir := buildRepoDir(t, nil, pkgBase, pkgFix1)
	o := testOptions(dir)
	mustBuild(t, o)
	for _, tt := range []struct {
		name string
		ext  string // the primary file is renamed to this extension
		data func([]byte) []byte
		want string
	}{
		{"zchunk", ".xml.zck", nil, `unknown compression ".zck"`},
		{"gzip named zst", ".xml.zst", nil, "named .zst but gz-compressed"},
		{"garbage named gz", ".xml.gz", func([]byte) []byte { return []byte("\x00\x01garbage") }, "named .gz but not gz-compressed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustBuild(t, o)
			repomdPath := filepath.Join(dir, "repodata", "repomd.xml")
			repomd, _ := os.ReadFile(repomdPath)
			locs, _ := metadataLocations(repomd)
			l := locs["primary"]
			data, _ := os.ReadFile(filepath.Join(dir, l.href))
			if tt.data != nil {
				data = tt.data(data)
			}
			sum := sha256.Sum256(data)
			href := "repodata/" + hex.EncodeToString(sum[:]) + "-primary" + tt.ext
			os.WriteFile(filepath.Join(dir, href), data, 0o644)
			text := strings.ReplaceAll(string(repomd), l.href, href)
			text = strings.ReplaceAll(text, l.sha256, hex.EncodeToString(sum[:]))
			os.WriteFile(repomdPath, []byte(text), 0o644)

			var log bytes.Buffer
			o := o
			o.Log = &log
			res := mustBuild(t, o)
			if res.Reused != 0 || !strings.Contains(log.String(), "not reused: primary: "+href+": "+tt.want) {
				t.Errorf("reused %d; log %q, want it to say %q", res.Reused, log.String(), tt.want)
			}
		})
	}
}

// TestZstdOutput: -compress zstd writes what createrepo_c 1.x writes (.xml.zst files, the
// checksum and size of the compressed file, the open-checksum and open-size of the XML,
// the same XML as gzip), the same bytes in every run, and the real dnf reads it.
func TestZstdOutput(t *testing.T) {
	vendor, _ := testKeys(t)
	root := t.TempDir()
	dir := filepath.Join(root, "6.14.2")
	os.Mkdir(dir, 0o755)
	for _, p := range []testPkg{pkgBase, pkgMeta, pkgFix1} {
		p.build(t, dir, vendor)
	}
	o := testOptions(dir)
	o.Signer = vendor
	o.BaseURLs = []string{"file://" + root}
	mustBuild(t, o)
	gzPkgs, gzPlain := readRepo(t, dir)

	o.Compress = "zstd"
	mustBuild(t, o)
	repomd, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	locs, _ := metadataLocations(repomd)
	for _, typ := range []string{"primary", "filelists", "other"} {
		href := locs[typ].href
		data, err := os.ReadFile(filepath.Join(dir, href))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if want := "repodata/" + hex.EncodeToString(sum[:]) + "-" + typ + ".xml.zst"; href != want {
			t.Errorf("%s is at %s, want %s", typ, href, want)
		}
		plain := zstdDecompress(t, data)
		if !bytes.Equal(plain, gzPlain[typ]) {
			t.Errorf("%s: the XML in zstd differs from the XML in gzip", typ)
		}
		open := sha256.Sum256(plain)
		for _, w := range []string{
			"<open-checksum type=\"sha256\">" + hex.EncodeToString(open[:]) + "</open-checksum>",
			"<open-size>" + strconv.Itoa(len(plain)) + "</open-size>",
			"<size>" + strconv.Itoa(len(data)) + "</size>",
		} {
			if !bytes.Contains(repomd, []byte(w)) {
				t.Errorf("repomd.xml does not say %s", w)
			}
		}
	}
	zstdPkgs, _ := readRepo(t, dir)
	comparePkgs(t, zstdPkgs, gzPkgs)

	// Reproducible, and reused: a second run over its own zstd metadata reads nothing.
	before := snapshot(t, dir)
	delete(before, "repodata/repomd.xml.asc")
	if res := mustBuild(t, o); res.Reused != 3 {
		t.Errorf("second run reused %d, want 3", res.Reused)
	}
	after := snapshot(t, dir)
	delete(after, "repodata/repomd.xml.asc")
	sameSnapshot(t, before, after)

	testutil.RequireTool(t, "dnf")
	repoFile, _ := os.ReadFile(filepath.Join(dir, "shop-hotfix.repo"))
	key, _ := os.ReadFile(filepath.Join(dir, "RPM-GPG-KEY-shop-hotfix"))
	h := newDNFHost(t, repoFile, key)
	code, out := h.dnf("repoquery", "--available", "--qf", "%{name}-%{version}-%{release}.%{arch}")
	want := []string{"shop-hotfix-6_14_2_1-1-0.noarch", "shop-hotfix-base-1.0-1.noarch", "shop-meta-1-1.noarch"}
	if code != 0 || !containsAll(out, want) {
		t.Fatalf("dnf repoquery over zstd metadata: exit %d, want 0 and %v", code, want)
	}
}

// zstdDecompress is the real zstd command's reading of data.
func zstdDecompress(t *testing.T, data []byte) []byte {
	t.Helper()
	cmd := exec.Command(testutil.RequireTool(t, "zstd"), "-q", "-d", "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd -d: %v", err)
	}
	return out
}
