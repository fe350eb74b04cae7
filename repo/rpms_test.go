package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/rpmpack"

	"github.com/hotchain/hotchain/internal/sign"
)

// The test packages are built here with rpmpack rather than with packaging's builder, so
// that this package's tests stand on their own.

// testEpoch is the time every test package and key is made at: the metadata is compared
// with golden files.
var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type testFile struct {
	name string
	body string
	mode uint // with the S_IFDIR bit for directories
	typ  rpmpack.FileType
}

type testChangelog struct {
	time       time.Time
	name, text string
}

type testPkg struct {
	name, version, release, arch string
	epoch                        uint32 // rpmpack.NoEpoch for none
	summary, description         string
	requires, provides           []string
	conflicts, obsoletes         []string
	suggests, recommends         []string
	preRequires                  []string // Requires(pre): flagged for the %pre scriptlet
	bare                         bool     // no vendor, URL, packager or group
	files                        []testFile
	pre, post, preun             string
	changelogs                   []testChangelog // newest first, as rpm stores them
}

func (p testPkg) fileName() string {
	return p.name + "-" + p.version + "-" + p.release + "." + p.arch + ".rpm"
}

func relations(t testing.TB, specs []string) rpmpack.Relations {
	var rs rpmpack.Relations
	for _, s := range specs {
		if err := rs.Set(s); err != nil {
			t.Fatalf("relation %q: %v", s, err)
		}
	}
	return rs
}

// build writes p as an RPM file into dir, signed by s when s is not nil.
func (p testPkg) build(t testing.TB, dir string, s *sign.Signer) string {
	t.Helper()
	arch := p.arch
	if arch == "" {
		arch = "noarch"
	}
	requires := relations(t, p.requires)
	for _, name := range p.preRequires {
		requires = append(requires, &rpmpack.Relation{Name: name, Sense: 1 << 9}) // RPMSENSE_SCRIPT_PRE
	}
	md := rpmpack.RPMMetaData{
		Name:        p.name,
		Version:     p.version,
		Release:     p.release,
		Arch:        arch,
		Epoch:       p.epoch,
		Summary:     p.summary,
		Description: p.description,
		Licence:     "Proprietary",
		Vendor:      "Example Shop Inc.",
		URL:         "https://shop.example/",
		Packager:    "Shop Release <release@shop.example>",
		Group:       "Applications/System",
		BuildHost:   "build.shop.example",
		BuildTime:   testEpoch,
		Compressor:  "gzip",
		Requires:    requires,
		Provides:    relations(t, p.provides),
		Conflicts:   relations(t, p.conflicts),
		Obsoletes:   relations(t, p.obsoletes),
		Suggests:    relations(t, p.suggests),
		Recommends:  relations(t, p.recommends),
	}
	if p.bare {
		md.Vendor, md.URL, md.Packager, md.Group = "", "", "", ""
	}
	r, err := rpmpack.NewRPM(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.files {
		r.AddFile(rpmpack.RPMFile{
			Name: f.name, Body: []byte(f.body), Mode: f.mode, Type: f.typ,
			Owner: "root", Group: "root", MTime: uint32(testEpoch.Unix()),
		})
	}
	if p.pre != "" {
		r.AddPrein(p.pre)
	}
	if p.post != "" {
		r.AddPostin(p.post)
	}
	if p.preun != "" {
		r.AddPreun(p.preun)
	}
	if len(p.changelogs) > 0 {
		var times []int32
		var names, texts []string
		for _, c := range p.changelogs {
			times = append(times, int32(c.time.Unix()))
			names = append(names, c.name)
			texts = append(texts, c.text)
		}
		r.AddCustomTag(tagChangeTime, rpmpack.EntryInt32(times))
		r.AddCustomTag(tagChangeName, rpmpack.EntryStringSlice(names))
		r.AddCustomTag(tagChangeText, rpmpack.EntryStringSlice(texts))
	}
	if s != nil {
		r.SetPGPSigner(s.Sign)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, p.fileName())
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// A fixed mtime: the metadata records it, and golden files must not move.
	if err := os.Chtimes(path, testEpoch, testEpoch); err != nil {
		t.Fatal(err)
	}
	return path
}

const dirMode = 040755

// The test repository: a base package, a chain of two hotfixes with scriptlets and
// relations of every kind, a package with an epoch and a changelog, and one without files.
var (
	pkgBase = testPkg{
		name: "shop-hotfix-base", version: "1.0", release: "1", arch: "noarch", epoch: rpmpack.NoEpoch,
		summary:     "Enables hotfixes for shop",
		description: "The agent, its settings & the repository file <for> shop hotfixes.",
		provides:    []string{"shop-hotfix-agent = 1.0"},
		files: []testFile{
			{name: "/etc/shop-hotfix", mode: dirMode},
			{name: "/etc/shop-hotfix/settings", body: "PRODUCT=shop\n", mode: 0o644, typ: rpmpack.ConfigFile | rpmpack.NoReplaceFile},
			{name: "/usr/bin/shop-hotfix", body: "#!/bin/sh\nexit 0\n", mode: 0o755},
			{name: "/usr/share/doc/shop-hotfix-base", mode: dirMode},
			{name: "/usr/share/doc/shop-hotfix-base/README", body: "read me\n", mode: 0o644, typ: rpmpack.DocFile},
			{name: "/var/log/shop-hotfix.log", mode: 0o644, typ: rpmpack.GhostFile},
		},
	}
	pkgFix1 = testPkg{
		name: "shop-hotfix-6_14_2_1", version: "1", release: "0", arch: "noarch", epoch: rpmpack.NoEpoch,
		summary:     "shop hotfix 6.14.2.1",
		description: "BUG-1: checkout fails",
		requires:    []string{"shop-hotfix-base", "/bin/sh", "shop-hotfix-agent >= 1.0"},
		conflicts:   []string{"shop-old < 2"},
		obsoletes:   []string{"shop-legacy-hotfix <= 1.0-3"},
		files: []testFile{
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.1", mode: dirMode},
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.1/version.txt", body: "6.14.2.1\n", mode: 0o644},
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.1/FileChanges", mode: dirMode},
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.1/FileChanges/bin/shop", body: "binary\n", mode: 0o755},
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.1/latest", body: "version.txt", mode: 0o120777},
		},
		pre:   "exec hotchain apply -check \"$HOTFIX_DIR\"\n",
		post:  "exec hotchain apply /var/lib/shop/patches/shop-hotfix-6.14.2.1\n",
		preun: "exec hotchain rollback 6.14.2.1\n",
	}
	pkgFix2 = testPkg{
		name: "shop-hotfix-6_14_2_2", version: "1", release: "0", arch: "noarch", epoch: rpmpack.NoEpoch,
		summary:     "shop hotfix 6.14.2.2",
		description: "BUG-2: \"quotes\" and 'apostrophes'\nsecond line",
		requires:    []string{"shop-hotfix-6_14_2_1", "shop-hotfix-base"},
		files: []testFile{
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.2", mode: dirMode},
			{name: "/var/lib/shop/patches/shop-hotfix-6.14.2.2/version.txt", body: "6.14.2.2\n", mode: 0o644},
		},
		post: "exec hotchain apply /var/lib/shop/patches/shop-hotfix-6.14.2.2\n",
	}
	pkgTools = testPkg{
		name: "shop-tools", version: "2.0", release: "3.el9", arch: "noarch", epoch: 2,
		summary:     "Tools for shop",
		description: "Tools.",
		// Some of these createrepo_c leaves out: rpmlib(), the package's own primary files,
		// what the package provides itself, duplicates.
		requires: []string{"shop-hotfix-base = 1.0-1", "shop-data > 1:0.5", "rpmlib(PayloadIsGzip) <= 5.4.7-1",
			"/usr/sbin/shopctl", "shop-cli", "shop-cli = 2:2.0-3.el9", "shop-data > 1:0.5", "/opt/shop/data"},
		preRequires: []string{"/bin/sh", "shop-data"},
		suggests:    []string{"shop-docs"},
		recommends:  []string{"shop-extras >= 1.1"},
		provides:    []string{"shop-cli = 2:2.0-3.el9", "/usr/sbin/shopctl"},
		files: []testFile{
			{name: "/usr/sbin", mode: dirMode},
			{name: "/usr/sbin/shopctl", body: "#!/bin/sh\n", mode: 0o755},
			{name: "/usr/lib/sendmail", body: "x", mode: 0o755},
			{name: "/opt/shop/bin/tool", body: "y", mode: 0o755},
		},
		changelogs: []testChangelog{
			{testEpoch, "Shop Release <release@shop.example> - 2:2.0-3", "- fix <tool> & \"quotes\""},
			{testEpoch.Add(-48 * time.Hour), "Shop Release <release@shop.example> - 2:2.0-2", "- second"},
			{testEpoch.Add(-48 * time.Hour), "Shop Release <release@shop.example> - 2:2.0-1", "- first"},
		},
	}
	pkgMeta = testPkg{
		name: "shop-meta", version: "1", release: "1", arch: "noarch", epoch: rpmpack.NoEpoch,
		summary: "No files", description: "", bare: true,
	}
)

var testPkgs = []testPkg{pkgBase, pkgFix1, pkgFix2, pkgTools, pkgMeta}

// testKeys are the vendor's key and another one, fixed Ed25519 test keys in testdata so
// that signed packages and repomd.xml.asc are the same in every run (golden files).
func testKeys(t testing.TB) (vendor, other *sign.Signer) {
	t.Helper()
	load := func(name string) *sign.Signer {
		s, err := sign.LoadSigner(filepath.Join("testdata", name+".sec.asc"))
		if err != nil {
			t.Fatal(err)
		}
		s.Time = testEpoch
		return s
	}
	return load("vendor"), load("other")
}

// buildRepoDir builds pkgs into a new directory named after a base version.
func buildRepoDir(t testing.TB, s *sign.Signer, pkgs ...testPkg) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "6.14.2")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		p.build(t, dir, s)
	}
	return dir
}
