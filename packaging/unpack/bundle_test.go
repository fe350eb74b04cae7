package unpack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// bundleTop is the top directory of the test bundles.
const bundleTop = "shop-hotfix-bundle-6.14.2.2-6.14.2.3"

// bundleContent is the files of a valid test bundle 6.14.2.2..3 under its top directory.
func bundleContent() map[string]string {
	return map[string]string{
		"shop-hotfix-6_14_2_2-1-0.noarch.rpm": "rpm 2",
		"shop-hotfix-6_14_2_3-1-1.noarch.rpm": "rpm 3",
		"repodata/repomd.xml":                 "<repomd/>",
		"repodata/repomd.xml.asc":             "signature",
		"repodata/abc-primary.xml.gz":         "primary",
	}
}

// testManifest is the manifest of files (bundleContent).
func testManifest(files map[string]string) *BundleManifest {
	m := &BundleManifest{Schema: BundleSchema, Product: "shop", Base: "6.14.2", From: "6.14.2.2", To: "6.14.2.3",
		Packages: []BundlePackage{
			{Version: "6.14.2.2", Name: "shop-hotfix-6_14_2_2", EVR: "1-0", File: "shop-hotfix-6_14_2_2-1-0.noarch.rpm"},
			{Version: "6.14.2.3", Name: "shop-hotfix-6_14_2_3", EVR: "1-1", File: "shop-hotfix-6_14_2_3-1-1.noarch.rpm"},
		}}
	for _, p := range sortedKeys(files) {
		sum := sha256.Sum256([]byte(files[p]))
		m.Files = append(m.Files, BundleFile{Path: p, Size: int64(len(files[p])), SHA256: hex.EncodeToString(sum[:])})
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// tarOf writes hdrs (with their bodies) as a tar archive.
func tarOf(t *testing.T, ents []tarEnt) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		h := e.h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 && h.Typeflag != tar.TypeXGlobalHeader {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type tarEnt struct {
	h    tar.Header
	body string
}

func reg(name, body string) tarEnt {
	return tarEnt{tar.Header{Name: name, Typeflag: tar.TypeReg}, body}
}
func dir(name string) tarEnt {
	return tarEnt{h: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

// validBundle is the entries of a good bundle: files and manifest m (nil: testManifest).
func validBundle(t *testing.T, files map[string]string, m *BundleManifest) []tarEnt {
	t.Helper()
	if m == nil {
		m = testManifest(files)
	}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	ents := []tarEnt{dir(bundleTop + "/"), reg(bundleTop+"/manifest.json", string(mj)), dir(bundleTop + "/repodata/")}
	for _, p := range sortedKeys(files) {
		ents = append(ents, reg(bundleTop+"/"+p, files[p]))
	}
	return ents
}

// TestCheckBundleRefuses: every entry outside the fixed layout, and every manifest that
// does not describe the bundle, is refused by name before anything is written.
func TestCheckBundleRefuses(t *testing.T) {
	files := bundleContent()
	good := validBundle(t, files, nil)
	with := func(extra ...tarEnt) []tarEnt { return append(append([]tarEnt{}, good...), extra...) }
	manifest := func(change func(m *BundleManifest)) []tarEnt {
		m := testManifest(files)
		change(m)
		return validBundle(t, files, m)
	}
	link := func(name, target string, typ byte) tarEnt {
		return tarEnt{h: tar.Header{Name: name, Linkname: target, Typeflag: typ}}
	}
	var renamed []tarEnt
	for _, e := range good {
		e.h.Name = strings.Replace(e.h.Name, bundleTop, "shop-hotfix-bundle-6.14.2.2-6.14.2.9", 1)
		renamed = append(renamed, e)
	}
	many := []tarEnt{dir(bundleTop + "/")}
	for i := 0; i < MaxBundleEntries; i++ {
		many = append(many, reg(fmt.Sprintf("%s/repodata/f%d", bundleTop, i), ""))
	}
	for _, tc := range []struct {
		name  string
		ents  []tarEnt
		entry string // named in the error
		why   string
	}{
		{"symlink", with(link(bundleTop+"/x.rpm", "/etc/passwd", tar.TypeSymlink)), bundleTop + "/x.rpm", "is a symlink"},
		{"hard link", with(link(bundleTop+"/y.rpm", bundleTop+"/manifest.json", tar.TypeLink)), bundleTop + "/y.rpm", "is a hard link"},
		{"device", with(tarEnt{h: tar.Header{Name: bundleTop + "/dev.rpm", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}), bundleTop + "/dev.rpm", "is a device"},
		{"fifo", with(tarEnt{h: tar.Header{Name: bundleTop + "/fifo.rpm", Typeflag: tar.TypeFifo}}), bundleTop + "/fifo.rpm", "is a named pipe"},
		{"dot dot", with(reg(bundleTop+"/../evil.rpm", "x")), bundleTop + "/../evil.rpm", "not clean"},
		{"dot dot at the start", append([]tarEnt{reg("../evil.rpm", "x")}, good...), "../evil.rpm", "not clean"},
		{"absolute", append([]tarEnt{reg("/etc/cron.d/evil", "x")}, good...), "/etc/cron.d/evil", "absolute name"},
		{"dot element", with(reg(bundleTop+"/./a.rpm", "x")), bundleTop + "/./a.rpm", "not clean"},
		{"outside the top directory", with(reg("other-hotfix-bundle-1.1-1.2/a.rpm", "x")), "other-hotfix-bundle-1.1-1.2/a.rpm", "outside the bundle's one top directory"},
		{"top directory of another name", append([]tarEnt{dir("shop/")}, good...), "shop/", "not under a top directory named like"},
		{"other directory", with(dir(bundleTop + "/repodata/sub/")), bundleTop + "/repodata/sub/", "directory other than repodata/"},
		{"file deeper down", with(reg(bundleTop+"/repodata/sub/x", "x")), bundleTop + "/repodata/sub/x", "is not an RPM"},
		{"other file", with(reg(bundleTop+"/install.sh", "x")), bundleTop + "/install.sh", "is not an RPM"},
		{"hidden file", with(reg(bundleTop+"/.x.rpm", "x")), bundleTop + "/.x.rpm", "is not an RPM"},
		{"twice", with(reg(bundleTop+"/repodata/repomd.xml", "<repomd/>")), bundleTop + "/repodata/repomd.xml", "appears twice"},
		{"not in the manifest", with(reg(bundleTop+"/shop-hotfix-6_14_2_4-1-0.noarch.rpm", "rpm 4")), bundleTop + "/shop-hotfix-6_14_2_4-1-0.noarch.rpm", "is not in the manifest"},
		{"changed file", validBundle(t, map[string]string{"shop-hotfix-6_14_2_2-1-0.noarch.rpm": "rpm 2!", "shop-hotfix-6_14_2_3-1-1.noarch.rpm": "rpm 3",
			"repodata/repomd.xml": "<repomd/>", "repodata/repomd.xml.asc": "signature", "repodata/abc-primary.xml.gz": "primary"}, testManifest(files)),
			bundleTop + "/shop-hotfix-6_14_2_2-1-0.noarch.rpm", "does not match its SHA-256"},
		{"missing file", good[:len(good)-1], bundleTop + "/shop-hotfix-6_14_2_3-1-1.noarch.rpm", "in the manifest but not in the bundle"},
		{"no manifest", append(append([]tarEnt{}, good[:1]...), good[2:]...), "", "has no " + bundleTop + "/manifest.json"},
		{"manifest with an unknown field", append([]tarEnt{dir(bundleTop + "/"), reg(bundleTop+"/manifest.json", `{"schema":"hotchain-bundle/1","extra":1}`)}, good[2:]...),
			bundleTop + "/manifest.json", "unknown field"},
		{"another schema", manifest(func(m *BundleManifest) { m.Schema = "hotchain-bundle/2" }), bundleTop + "/manifest.json", "schema"},
		{"a gap", manifest(func(m *BundleManifest) { m.Packages[1].Version = "6.14.2.4" }), bundleTop + "/manifest.json", "do not make the chain"},
		{"short chain", manifest(func(m *BundleManifest) { m.Packages = m.Packages[:1] }), bundleTop + "/manifest.json", "6.14.2.3 is missing"},
		{"package of another name", manifest(func(m *BundleManifest) { m.Packages[0].Name = "shop-hotfix-6_14_2_9" }), bundleTop + "/manifest.json", "not named as hotfix"},
		{"other base", manifest(func(m *BundleManifest) { m.Base = "6.14.3" }), bundleTop + "/manifest.json", "not a part of the chain"},
		{"unsigned metadata", manifest(func(m *BundleManifest) {
			m.Files = append(m.Files[:2], m.Files[3:]...) // drops repodata/repomd.xml.asc
		}), bundleTop + "/manifest.json", "no repodata/repomd.xml.asc"},
		{"top directory not after the manifest", renamed, "shop-hotfix-bundle-6.14.2.2-6.14.2.9/", "is not named " + bundleTop + ", after the manifest"},
		{"global header", append([]tarEnt{{h: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}}}, good...), "", "global PAX header"},
		{"too many entries", many, fmt.Sprintf("%s/repodata/f%d", bundleTop, MaxBundleEntries-1), "the most a bundle holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			_, err := unpackBundle(tarOf(t, tc.ents), "b.tar", dest)
			var be *BundleError
			if !errors.As(err, &be) {
				t.Fatalf("got %v, want a BundleError", err)
			}
			if tc.entry != "" && be.Entry != tc.entry {
				t.Errorf("entry %q named, want %q (%v)", be.Entry, tc.entry, err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("%v: want %q", err, tc.why)
			}
			if be.Hint() == "" {
				t.Error("no hint")
			}
			if left, _ := os.ReadDir(dest); len(left) != 0 {
				t.Errorf("wrote %d entries into the destination", len(left))
			}
		})
	}
}
