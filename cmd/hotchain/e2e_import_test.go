package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"
	"github.com/hotchain/hotchain/repo/dnf"
)

// TestImportBundle is the offline bundle end to end with the real dnf and rpm: a vendor
// builds the signed chain 6.14.2.1..4 and bundles 2..4; a host at 6.14.2.1 whose repository
// file is gone (no repository configured, the server down) refuses a bundle with one byte
// flipped inside an RPM, one signed by another tarball key, one whose RPMs and metadata
// another OpenPGP key signed, and one that starts at 6.14.2.3, each with exit 1, a message
// that says what and what to do, and the host tree byte-identical; then imports the good
// one: rpm database, ledger and product files agree, the report is printed, and the
// private copy is gone. A later bundle 3..5 installs 5 alone.
func TestImportBundle(t *testing.T) {
	e2eHost(t, false)
	bin := buildStatic(t)
	work := t.TempDir()
	key, repoDir := vendorKeyAndRepo(t, bin, work)
	other := filepath.Join(work, "other")
	runOK(t, nil, bin, "keygen", "-name", "Someone Else", "-email", "else@example.org", "-out", other)
	otherDir := filepath.Join(work, "other", "6.14.2")
	if err := os.MkdirAll(otherDir, 0o755); err != nil {
		t.Fatal(err)
	}
	url, stop := serveReposStoppable(t, bin, filepath.Dir(repoDir))
	src := filepath.Join(work, "src")
	rolloutChain(t, src, 1, 5, 0)
	buildHotfixes(t, bin, key, src, repoDir, 1, 1)
	runOK(t, nil, bin, "build-base", "-product", "shop", "-base-version", "6.14.2", "-repo-url", url,
		"-sign-key", key+".asc", "-tarball-key", key+".pem", "-binary", bin, "-set", "HOSTNAME=bundlehost",
		"-set", "YUM_PARAMETER=--disablerepo '*' --enablerepo shop-hotfix --releasever=1", "-out", repoDir)
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url, repoDir)

	// The host: base RPM and hotfix 1 from the repository, then no repository at all.
	host := newInstallroot(t, "host")
	repoFile, err := os.ReadFile(filepath.Join(repoDir, "shop-hotfix.repo"))
	if err != nil {
		t.Fatal(err)
	}
	host.write("etc/yum.repos.d/shop-hotfix.repo", string(repoFile))
	pub, _ := os.ReadFile(key + ".pub.asc")
	host.write("etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix", string(pub))
	runOK(t, nil, "dnf", host.dnfArgs("install", "shop-hotfix-base")...)
	at := []string{"-root", host.root, "-config", "/etc/sysconfig/shop-hotfix"}
	runOK(t, nil, bin, append([]string{"agent", "-console"}, at...)...)
	ledger := "etc/opt/shop/hotfix/bundlehost.txt"
	if got := host.read(ledger); got != "6.14.2.1\n" {
		t.Fatalf("ledger before the import = %q, want 6.14.2.1", got)
	}
	stop()
	if err := os.Remove(filepath.Join(host.root, "etc/yum.repos.d/shop-hotfix.repo")); err != nil {
		t.Fatal(err)
	}

	// The vendor: 2..4 in the repository, the bundles.
	buildHotfixes(t, bin, key, src, repoDir, 2, 4)
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url, repoDir)
	buildHotfixes(t, bin, other, src, otherDir, 2, 4)
	bundle := func(dir, signKey, tarKey string, from, to int, name string) string {
		out := filepath.Join(work, "bundles", name)
		os.MkdirAll(filepath.Dir(out), 0o755)
		runOK(t, []string{"SOURCE_DATE_EPOCH=1700000000"}, bin, "bundle", "-product", "shop", "-repo", dir,
			"-from", fmt.Sprintf("6.14.2.%d", from), "-to", fmt.Sprintf("6.14.2.%d", to),
			"-sign-key", signKey, "-tarball-key", tarKey+".pem", "-out", out)
		return out
	}
	good := bundle(repoDir, key+".asc", key, 2, 4, "shop-hotfix-bundle-6.14.2.2-6.14.2.4.tar")
	// The same packages and SOURCE_DATE_EPOCH give the same bytes.
	again := bundle(repoDir, key+".asc", key, 2, 4, "again.tar")
	if a, b := readFile(t, good), readFile(t, again); !bytes.Equal(a, b) {
		t.Errorf("two bundles of the same packages differ")
	}
	flipped := filepath.Join(work, "bundles", "flipped.tar")
	data := readFile(t, good)
	rpmAt := bytes.Index(data, []byte("shop-hotfix-6_14_2_3-1-0.noarch.rpm\x00"))
	if rpmAt < 0 {
		t.Fatal("bundle holds no shop-hotfix-6_14_2_3-1-0.noarch.rpm")
	}
	flip := (rpmAt/512+1)*512 + 2000 // inside the RPM after its header block
	data[flip] ^= 0x01
	writeFile(t, flipped, data)
	writeFile(t, flipped+".sig", readFile(t, good+".sig"))
	otherTar := bundle(repoDir, key+".asc", other, 2, 4, "other-tarball-key.tar")
	otherPGP := bundle(otherDir, other+".asc", key, 2, 4, "other-openpgp-key.tar")
	// RPMs signed by another key, repomd.xml by it and by the host's key (what a key
	// rotation's overlap would give a host that lacks the new key).
	otherRPMs := bundle(otherDir, other+".asc,"+key+".asc", key, 2, 4, "other-rpm-key.tar")
	gap := bundle(repoDir, key+".asc", key, 3, 4, "gap.tar")
	// Bundles whose every signature verifies, but whose content is not what the manifest
	// says: the file of 6.14.2.3 holds the package 6.14.2.4 (the metadata made from it);
	// the metadata offers 6.14.2.4 too, which the manifest does not list.
	rpm4 := filepath.Join(repoDir, "shop-hotfix-6_14_2_4-1-0.noarch.rpm")
	wrongRPM := filepath.Join(work, "bundles", "wrong-rpm.tar")
	twoThree := bundle(repoDir, key+".asc", key, 2, 3, "2-3.tar")
	retarBundle(t, twoThree, wrongRPM, key, key+".asc", func(dir string, m *unpack.BundleManifest) {
		writeFile(t, filepath.Join(dir, "shop-hotfix-6_14_2_3-1-0.noarch.rpm"), readFile(t, rpm4))
	})
	extraMeta := filepath.Join(work, "bundles", "extra-metadata.tar")
	retarBundle(t, twoThree, extraMeta, key, key+".asc", func(dir string, m *unpack.BundleManifest) {
		os.Mkdir(filepath.Join(dir, "extra"), 0o755)
		writeFile(t, filepath.Join(dir, "extra", "shop-hotfix-6_14_2_4-1-0.noarch.rpm"), readFile(t, rpm4))
	})
	// A named pipe as the .sig, without a writer: its open used to wait forever.
	fifoSig := filepath.Join(work, "bundles", "fifo-sig.tar")
	writeFile(t, fifoSig, readFile(t, good))
	if err := syscall.Mkfifo(fifoSig+".sig", 0o600); err != nil {
		t.Fatal(err)
	}

	tmp := filepath.Join(work, "tmp")
	os.MkdirAll(tmp, 0o700)
	env := []string{"TMPDIR=" + tmp}
	snap := func() map[string]testutil.TreeEntry { return testutil.Snapshot(t, host.root, true, ".") }
	before := snap()
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"one flipped byte", flipped, []string{"refused, nothing was changed", "bundle " + flipped + " refused, nothing was changed: signature does not match", "hint: get the bundle and its .sig again"}},
		{"another tarball key", otherTar, []string{"refused, nothing was changed", "signature does not match", "hint: get the bundle and its .sig again"}},
		{"another OpenPGP key", otherPGP, []string{"refused, nothing was changed", "repomd.xml.asc does not verify with", "hint: the bundle's metadata and packages must be signed with this host's repository key"}},
		{"packages by another OpenPGP key", otherRPMs, []string{"refused, nothing was changed", "package shop-hotfix-6_14_2_2-1-0.noarch.rpm: rpm -K with these keys alone says", "SIGNATURES NOT OK", "hint: the bundle's metadata and packages must be signed"}},
		{"an RPM that is another hotfix", wrongRPM, []string{"bundle " + wrongRPM + " refused, nothing was changed: package file shop-hotfix-6_14_2_3-1-0.noarch.rpm holds shop-hotfix-6_14_2_4 1-0 noarch, but the manifest says shop-hotfix-6_14_2_3 1-0", "hint: get the bundle again from the vendor"}},
		{"metadata that offers more", extraMeta, []string{"refused, nothing was changed: the bundle's metadata (repodata/) offers shop-hotfix-6_14_2_4 1-0 noarch, which the manifest does not list"}},
		{"a named pipe as .sig", fifoSig, []string{"bundle " + fifoSig + " refused, nothing was changed: bundle signature " + fifoSig + ".sig is a named pipe, not a regular file: refused", "hint: put a regular file at " + fifoSig + ".sig"}},
		{"a gap", gap, []string{"refused, nothing was changed", "host has 6.14.2.1, the bundle starts at 6.14.2.3: 6.14.2.2 is missing", "hint: ask the vendor for a bundle -from 6.14.2.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runCode(t, env, bin, append(append([]string{"import"}, at...), tc.file)...)
			if code != cli.ExitFailure {
				t.Errorf("exit %d, want %d", code, cli.ExitFailure)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if d := testutil.DiffTrees(before, snap()); d != "" {
				t.Errorf("the refused import changed the host:\n%s", d)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left %d entries in TMPDIR", len(left))
			}
		})
	}

	// dnf and rpm check the same signatures themselves: the package manager as import sets
	// it up, on the bundles another key signed, without hotchain's own checks first.
	for _, b := range []string{otherPGP, otherRPMs} {
		t.Run("dnf refuses "+filepath.Base(b), func(t *testing.T) {
			priv := t.TempDir()
			pub, err := sign.LoadTarballPublicKey(key + ".pub.pem")
			if err != nil {
				t.Fatal(err)
			}
			unpacked, err := unpack.VerifiedBundle(b, b+".sig", pub, key+".pub.pem", priv)
			if err != nil {
				t.Fatal(err)
			}
			lr := dnf.LocalRepo{ID: "shop-hotfix-bundle", ReposDir: filepath.Join(priv, "repos.d"), CacheDir: filepath.Join(priv, "cache")}
			os.Mkdir(lr.ReposDir, 0o755)
			repoFile, err := dnf.LocalRepoFile(lr.ID, "bundle", unpacked.Dir, []string{filepath.Join(host.root, "etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix")})
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(lr.ReposDir, "bundle.repo"), repoFile)
			var out bytes.Buffer
			pm := &dnf.PackageManager{Cmd: "dnf", Root: host.root, Params: []string{"--releasever=1"},
				Env: append(os.Environ(), "SHOP_DO_PATCH=0"), Stdout: &out, Stderr: &out}
			pm.OnlyRepo(lr)
			rpmBefore := host.installed()
			err = pm.Install(context.Background(), "shop-hotfix-6_14_2_4")
			t.Logf("dnf: %v\n%s", err, out.String())
			if err == nil || !strings.Contains(err.Error(), "GPG") {
				t.Errorf("dnf on %s: %v, want a GPG check that fails", filepath.Base(b), err)
			}
			if got := host.installed(); got != rpmBefore {
				t.Errorf("rpm database changed:\n%s\nwas\n%s", got, rpmBefore)
			}
		})
	}

	out := runOK(t, env, bin, append(append([]string{"import"}, at...), good)...)
	for _, w := range []string{"==> importing " + good, "Installed: 6.14.2.2 6.14.2.3 6.14.2.4"} {
		if !strings.Contains(out, w) {
			t.Errorf("import output lacks %q", w)
		}
	}
	if got := host.read(ledger); got != "6.14.2.1\n6.14.2.2\n6.14.2.3\n6.14.2.4\n" {
		t.Errorf("ledger after the import = %q, want 1 to 4", got)
	}
	rpms := regexp.MustCompile(`(?m)^\d+ (shop-hotfix-6_\S+)$`).FindAllStringSubmatch(host.installed(), -1)
	var names []string
	for _, m := range rpms {
		names = append(names, m[1])
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "shop-hotfix-6_14_2_4") || len(names) != 4 {
		t.Errorf("rpm -qa after the import: %s, want hotfixes 1 to 4", got)
	}
	if got := host.read("opt/shop/lib/Shop/Cart.pm"); got != "cart 6.14.2.4\n" {
		t.Errorf("Cart.pm after the import = %q", got)
	}
	for i := 2; i <= 4; i++ {
		if got := host.read(fmt.Sprintf("opt/shop/lib/Shop/Fix%d.pm", i)); got != fmt.Sprintf("fix %d\n", i) {
			t.Errorf("Fix%d.pm = %q", i, got)
		}
	}
	if st := runOK(t, nil, bin, append([]string{"verify"}, at...)...); !strings.Contains(st, " 0 drifted") {
		t.Errorf("verify after the import:\n%s", st)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the import left %d entries in TMPDIR", len(left))
	}
	// dnf prefixes the installroot to the private cache directory: nothing of it stays.
	if _, err := os.Lstat(filepath.Join(host.root, tmp)); !os.IsNotExist(err) {
		left, _ := filepath.Glob(filepath.Join(host.root, tmp, "*", "*"))
		t.Errorf("the import left %s in the installroot (%v): %q", filepath.Join(host.root, tmp), err, left)
	}
	if _, err := os.Stat(filepath.Join(host.root, "etc/yum.repos.d/shop-hotfix-bundle.repo")); err == nil {
		t.Errorf("the import left its .repo file in the host")
	}
	// Once more: everything is applied.
	if out := runOK(t, env, bin, append(append([]string{"import"}, at...), good)...); !strings.Contains(out, "Nothing to import") {
		t.Errorf("second import: %s", out)
	}
	// A bundle that holds applied hotfixes too: they are skipped, the new one installs.
	buildHotfixes(t, bin, key, src, repoDir, 5, 5)
	runOK(t, nil, bin, "repo", "-sign-key", key+".asc", "-base-url", url, repoDir)
	next := bundle(repoDir, key+".asc", key, 3, 5, "shop-hotfix-bundle-6.14.2.3-6.14.2.5.tar")
	if out := runOK(t, env, bin, append(append([]string{"import"}, at...), next)...); !strings.Contains(out, "Installed: 6.14.2.5\n") {
		t.Errorf("import of 3..5 on a host at 4 does not say it installed 6.14.2.5 alone:\n%s", out)
	}
	if got := host.read(ledger); got != "6.14.2.1\n6.14.2.2\n6.14.2.3\n6.14.2.4\n6.14.2.5\n" {
		t.Errorf("ledger after the second bundle = %q, want 1 to 5", got)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// retarBundle writes out, a bundle signed with the vendor's keys (tarKey+".pem", the
// tarball key; signKey, the OpenPGP key of the metadata) that holds what edit makes of
// the bundle good unpacked into dir: its repodata/ made again by createrepo_c and signed,
// its file list, tar and .sig written as hotchain bundle writes them. It stands for a
// vendor side gone wrong: every signature verifies, the content does not match.
func retarBundle(t *testing.T, good, out, tarKey, signKey string, edit func(dir string, m *unpack.BundleManifest)) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(readFile(t, good)))
	stage := t.TempDir()
	var top string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if top == "" {
			top = strings.TrimSuffix(h.Name, "/")
		}
		p := filepath.Join(stage, h.Name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, data)
	}
	dir := filepath.Join(stage, top)
	var m unpack.BundleManifest
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	edit(dir, &m)
	os.RemoveAll(filepath.Join(dir, "repodata"))
	runOK(t, nil, "createrepo_c", "-q", dir)
	signer, err := sign.LoadSigner(signKey)
	if err != nil {
		t.Fatal(err)
	}
	var asc bytes.Buffer
	repomd, _ := os.Open(filepath.Join(dir, "repodata/repomd.xml"))
	defer repomd.Close()
	if err := signer.SignArmored(&asc, repomd); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "repodata/repomd.xml.asc"), asc.Bytes())
	m.Files = nil
	var rels []string
	for _, pattern := range []string{"*.rpm", "repodata/*"} {
		got, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, g := range got {
			rels = append(rels, strings.TrimPrefix(g, dir+"/"))
		}
	}
	slices.Sort(rels)
	for _, rel := range rels {
		data := readFile(t, filepath.Join(dir, rel))
		m.Files = append(m.Files, unpack.BundleFile{Path: rel, Size: int64(len(data)), SHA256: fmt.Sprintf("%x", sha256.Sum256(data))})
	}
	manifest, _ := json.MarshalIndent(&m, "", "  ")
	writeFile(t, filepath.Join(dir, "manifest.json"), append(manifest, '\n'))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, rel := range append([]string{"", "manifest.json", "repodata/"}, rels...) {
		h := &tar.Header{Name: top + "/" + rel, Typeflag: tar.TypeDir, Mode: 0o755, Uname: "root", Gname: "root", ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		var data []byte
		if rel != "" && !strings.HasSuffix(rel, "/") {
			data = readFile(t, filepath.Join(dir, rel))
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, out, buf.Bytes())
	k, err := sign.LoadTarballKey(tarKey + ".pem")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.SignFile(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, out+".sig", sig)
}
