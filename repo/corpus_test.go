package repo

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

// The corpus: packages that hotchain did not make, built by rpmbuild at test time, with
// what real packages from other projects hold (every payload compression, epochs, ~ and ^
// versions, rich and weak dependencies, file triggers, ghost, config and dir entries, hard
// links, odd file names, long changelogs with entries of the same day, Latin-1 text,
// source packages), laid out as createrepo_c's directory walk must find them. hotchain
// and createrepo_c index the same directory and must write the same bytes.

// corpusMain has a bit of everything. %{lua:...} makes the bytes a spec file cannot hold.
const corpusMain = `Name: corpus-main
Version: 1.0~rc1^git2
Release: 1
Epoch: 3
Summary: Plain & <odd> "quoted" 'text' é
Summary(de): Deutsche Zusammenfassung
License: MIT
URL: https://example.org/a?b=1&c=2
BuildArch: noarch
Requires: (foo or bar)
Requires: /bin/sh
Requires(pre): shadow-utils
Recommends: rec >= 1.2-3
Suggests: (sug if sug-dep)
Supplements: (baz and qux)
Enhances: enh < 2:1
Conflicts: old-corpus <= 0.9
Obsoletes: older-corpus
Provides: corpus-virt = 7
Provides: p%{lua:print("\127")}q
%description
Description with é accent,
two lines & <markup>.
%description -l de
Deutsche Beschreibung.
%install
mkdir -p %{buildroot}/etc/corpus %{buildroot}/usr/bin "%{buildroot}/opt/with space" %{buildroot}/var/lib/corpus
echo a > %{buildroot}/etc/corpus/a.conf
echo b > "%{buildroot}/opt/with space/f&<>\"'é"
echo h > %{buildroot}/usr/bin/tool
ln %{buildroot}/usr/bin/tool %{buildroot}/usr/bin/tool2
%files
%config(noreplace) /etc/corpus/a.conf
"/opt/with space"
/usr/bin/tool
/usr/bin/tool2
%dir /var/lib/corpus
%ghost /var/lib/corpus/state
%filetriggerin -- /usr/lib
echo in
%transfiletriggerun -- /usr/share
echo un
%changelog
* Wed Jan 10 2024 José Núñez <j@example.org> - 1.0-13
- thirteen
* Wed Jan 10 2024 Ann <a@example.org> - 1.0-12
- twelve, same day
* Wed Jan 10 2024 Bob <b@example.org> - 1.0-11
- eleven, same day
* Tue Jan 09 2024 Ann <a@example.org> - 1.0-10
- ten & <b>
* Mon Jan 08 2024 Ann <a@example.org> - 1.0-9
- nine
* Sun Jan 07 2024 Ann <a@example.org> - 1.0-8
- eight
* Sat Jan 06 2024 Ann <a@example.org> - 1.0-7
- seven
* Fri Jan 05 2024 Ann <a@example.org> - 1.0-6
- six
* Thu Jan 04 2024 Ann <a@example.org> - 1.0-5
- five
* Wed Jan 03 2024 Ann <a@example.org> - 1.0-4
- four, same day as three and two
* Wed Jan 03 2024 Ann <a@example.org> - 1.0-3
- three
* Wed Jan 03 2024 Ann <a@example.org> - 1.0-2
- two
* Mon Jan 01 2024 Ann <a@example.org> - 1.0-1
- one
`

// corpusLatin1 has ISO-8859-1 bytes where UTF-8 belongs, and a byte of 0x80 to 0xBF
// (CP-1252's en dash), which createrepo_c drops.
const corpusLatin1 = `Name: corpus-latin1
Version: 2
Release: 1
Summary: Caf%{lua:print("\233")} cr%{lua:print("\232")}me %{lua:print("\150")} br%{lua:print("\251")}l%{lua:print("\233")}e
License: MIT
BuildArch: noarch
%description
Na%{lua:print("\239")}ve r%{lua:print("\233")}sum%{lua:print("\233")} %{lua:print("\255\192")}
%files
%changelog
* Mon Jan 01 2024 Fran%{lua:print("\231")}ois M%{lua:print("\252")}ller <f@example.org> - 2-1
- d%{lua:print("\233")}j%{lua:print("\224")} vu
`

// corpusPayload is one package per payload compression.
const corpusPayload = `Name: corpus-%{comp}
Version: 1
Release: 1
Summary: payload %{comp}
License: MIT
BuildArch: noarch
%description
The payload is compressed with %{comp}.
%install
mkdir -p %{buildroot}/usr/share/corpus-%{comp}
echo %{comp} > %{buildroot}/usr/share/corpus-%{comp}/data
%files
/usr/share/corpus-%{comp}
`

// corpusControl has control characters in a requires and a changelog entry.
const corpusControl = `Name: corpus-control
Version: 1
Release: 1
Summary: control characters
License: MIT
BuildArch: noarch
Requires: bad%{lua:print("\1")}name
%description
d
%files
%changelog
* Mon Jan 01 2024 A <a@example.org> - 1-1
- ctl %{lua:print("\2")} here
`

// rpmbuild builds spec (binary packages, or the source package with source) in a
// directory of its own and returns the packages built.
func rpmbuild(t testing.TB, spec string, source bool, defines ...string) []string {
	t.Helper()
	top := t.TempDir()
	specFile := filepath.Join(top, "corpus.spec")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	mode := "-bb"
	if source {
		mode = "-bs"
	}
	args := []string{mode, "--quiet", "--define", "_topdir " + top, "--define", "_buildhost corpus.example",
		"--define", "__os_install_post %{nil}", "--define", "_build_id_links none"}
	for _, d := range defines {
		args = append(args, "--define", d)
	}
	cmd := exec.Command("rpmbuild", append(args, specFile)...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1704067200", "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	var rpms []string
	filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".rpm") {
			rpms = append(rpms, path)
		}
		return err
	})
	if len(rpms) == 0 {
		t.Fatal("rpmbuild built nothing")
	}
	return rpms
}

// corpusPackages builds the corpus and returns it by role.
type corpus struct {
	main, latin1, srpm, srpmUntagged string
	noSourceRPM                      string   // a binary package without SOURCERPM
	payloads                         []string // one per compression
	control                          string
}

func buildCorpus(t testing.TB) *corpus {
	t.Helper()
	if testing.Short() {
		t.Skip("builds packages with rpmbuild")
	}
	testutil.RequireTool(t, "rpmbuild")
	c := &corpus{
		main:   rpmbuild(t, corpusMain, false, "_binary_payload w19.zstdio")[0],
		latin1: rpmbuild(t, corpusLatin1, false, "_invalid_encoding_terminates_build 0")[0],
		srpm:   rpmbuild(t, corpusMain, true)[0],
	}
	for _, comp := range []string{"w9.gzdio", "w6.xzdio", "w19.zstdio", "w9.bzdio", "w6.lzdio", "w0.ufdio"} {
		name := strings.TrimSuffix(strings.TrimPrefix(comp[strings.IndexByte(comp, '.')+1:], "w"), "dio")
		c.payloads = append(c.payloads, rpmbuild(t, corpusPayload, false, "comp "+name, "_binary_payload "+comp)[0])
	}
	c.control = rpmbuild(t, corpusControl, false)[0]
	c.srpmUntagged = filepath.Join(t.TempDir(), "corpus-untagged.src.rpm")
	untag(t, c.srpm, c.srpmUntagged, tagSourcePackage, "1|(none)|")
	c.noSourceRPM = filepath.Join(t.TempDir(), "corpus-nosource.noarch.rpm")
	untag(t, c.payloads[0], c.noSourceRPM, tagSourceRPM, "(none)|(none)|noarch")
	return c
}

// untag writes a copy of the package src without the tag, as old packages are (a source
// package without SOURCEPACKAGE, a binary one without SOURCERPM): the entry's tag number
// becomes an unknown one (its data stays, so nothing moves) and the signature header's
// digests are computed again. rpm -qp must then say want for
// %{SOURCEPACKAGE}|%{SOURCERPM}|%{ARCH}: what librpm's retrofit makes of it.
func untag(t testing.TB, src, dst string, tag uint32, want string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	l := layout(t, data)
	hdr := data[l.hdrStart:l.hdrEnd]
	il := int(binary.BigEndian.Uint32(hdr[8:]))
	found := false
	for i := 0; i < il; i++ {
		e := hdr[16+16*i:]
		if binary.BigEndian.Uint32(e) == tag {
			binary.BigEndian.PutUint32(e, 1199) // no tag of rpm's
			found = true
		}
	}
	if !found {
		t.Fatalf("rpmbuild's package has no tag %d", tag)
	}
	// The signature header's digests: SHA1 and SHA256 of the main header (hex strings),
	// MD5 of header and payload (binary).
	sha1sum := sha1.Sum(hdr)
	sha256sum := sha256.Sum256(hdr)
	md5sum := md5.Sum(data[l.hdrStart:])
	sig := data[leadSize:]
	sil := int(binary.BigEndian.Uint32(sig[8:]))
	store := sig[16+16*sil:]
	for i := 0; i < sil; i++ {
		e := sig[16+16*i:]
		off := binary.BigEndian.Uint32(e[8:])
		switch binary.BigEndian.Uint32(e) {
		case 269:
			copy(store[off:], hex.EncodeToString(sha1sum[:]))
		case 273:
			copy(store[off:], hex.EncodeToString(sha256sum[:]))
		case 1004:
			copy(store[off:], md5sum[:])
		}
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("rpm", "-qp", "--qf", "%{SOURCEPACKAGE}|%{SOURCERPM}|%{ARCH}", dst).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("rpm -qp on the untagged package: %v: %s, want %s", err, out, want)
	}
	if out, err := exec.Command("rpm", "-K", "--nosignature", dst).CombinedOutput(); err != nil {
		t.Fatalf("rpm -K on the untagged package: %v: %s", err, out)
	}
}

// layOut puts the corpus into dir as createrepo_c's walk must find it: subdirectories,
// hidden files and directories, a symlinked directory, the same file name in several
// directories, and names with spaces, markup characters and non-ASCII.
func (c *corpus) layOut(t *testing.T, dir string) {
	t.Helper()
	put := func(src, rel string) {
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// A fixed mtime: both tools record it.
		if err := os.Chtimes(dst, testEpoch, testEpoch); err != nil {
			t.Fatal(err)
		}
	}
	put(c.main, filepath.Base(c.main))
	put(c.main, `odd/a b & <c> "d" 'e' é.rpm`)
	put(c.latin1, "sub/"+filepath.Base(c.latin1))
	put(c.srpm, "SRPMS/"+filepath.Base(c.srpm))
	put(c.srpmUntagged, "SRPMS/"+filepath.Base(c.srpmUntagged))
	put(c.noSourceRPM, filepath.Base(c.noSourceRPM))
	for i, p := range c.payloads {
		put(p, []string{"", "sub/", ".hidden/", "sub/deeper/", "a b/", "a/b/"}[i]+filepath.Base(p))
	}
	// The same name in several directories: ordered by directory.
	put(c.payloads[0], "same.rpm")
	put(c.payloads[1], "a/same.rpm")
	put(c.payloads[2], "a b/same.rpm")
	put(c.payloads[3], ".dot.rpm")
	if err := os.Symlink("sub", filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
}

// runCreaterepo indexes dir with createrepo_c.
func runCreaterepo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, code := runCreaterepoCode(t, dir, args...)
	if code != 0 {
		t.Fatalf("createrepo_c: exit status %d\n%s", code, out)
	}
	return out
}

// runCreaterepoCode indexes dir with createrepo_c and returns its output and exit status.
// The metadata is gzip-compressed as hotchain writes it (createrepo_c 1.x writes zstd by
// default, 0.17 gzip): the comparisons are of the XML.
func runCreaterepoCode(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	createrepo := testutil.RequireTool(t, "createrepo_c")
	cmd := exec.Command(createrepo, append(append([]string{"--no-database", "--general-compress-type=gz"}, args...), dir)...)
	// librpm gives createrepo_c the summary and description of the user's language where a
	// package has them; hotchain writes the untranslated ones, whatever the locale, which
	// is what createrepo_c writes in the C locale.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANGUAGE=", "LANG=C")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("createrepo_c: %v\n%s", err, out)
	return "", 0
}

// TestCorpus builds the corpus once (a few seconds) and runs the checks on it.
func TestCorpus(t *testing.T) {
	c := buildCorpus(t)
	t.Run("agreement", func(t *testing.T) { testCorpusAgreement(t, c) })
	t.Run("facts", func(t *testing.T) { testCorpusFacts(t, c) })
	t.Run("control characters", func(t *testing.T) { testControlCharacters(t, c) })
}

// testCorpusAgreement compares hotchain's primary, filelists and other with
// createrepo_c's on the corpus, parsed and as bytes, with createrepo_c's default
// changelog limit and with others. Nothing is normalised: package order, every field and
// every escape must be the same.
func testCorpusAgreement(t *testing.T, c *corpus) {
	for _, tt := range []struct {
		name  string
		limit int      // Options.ChangelogLimit
		args  []string // createrepo_c's
	}{
		{"default", 0, nil},
		{"limit 3", 3, []string{"--changelog-limit=3"}},
		{"all", AllChangelogs, []string{"--changelog-limit=-1"}},
		{"none", NoChangelogs, []string{"--changelog-limit=0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ours := filepath.Join(t.TempDir(), "6.14.2")
			theirs := filepath.Join(t.TempDir(), "6.14.2")
			c.layOut(t, ours)
			c.layOut(t, theirs)
			runCreaterepo(t, theirs, tt.args...)
			o := testOptions(ours)
			o.ChangelogLimit = tt.limit
			var log bytes.Buffer
			o.Log = &log
			if _, err := Build(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			gotPkgs, got := readRepo(t, ours)
			wantPkgs, want := readRepo(t, theirs)
			if len(wantPkgs) < 15 {
				t.Fatalf("createrepo_c indexed %d packages, want 15 or more", len(wantPkgs))
			}
			comparePkgs(t, gotPkgs, wantPkgs)
			for _, typ := range []string{"primary", "filelists", "other"} {
				if !bytes.Equal(got[typ], want[typ]) {
					t.Errorf("%s.xml is not byte-identical to createrepo_c's:\n%s", typ, testutil.FirstDiff(got[typ], want[typ]))
				}
			}
			if !strings.Contains(log.String(), ".hidden/") {
				t.Errorf("no warning about the hidden package:\n%s", log.String())
			}
		})
	}
}

// testCorpusFacts pins what the agreement rests on, so that a createrepo_c that changed
// (or a corpus that lost a case) shows as such: source packages are "src" with and
// without the SOURCEPACKAGE tag, Latin-1 becomes UTF-8, non-ASCII attributes are
// character references, the changelog is cut at 10 entries.
func testCorpusFacts(t *testing.T, c *corpus) {
	dir := filepath.Join(t.TempDir(), "6.14.2")
	c.layOut(t, dir)
	if _, err := Build(context.Background(), testOptions(dir)); err != nil {
		t.Fatal(err)
	}
	pkgs, plain := readRepo(t, dir)
	byLoc := make(map[string]*pkg)
	for _, p := range pkgs {
		byLoc[p.Location] = p
	}
	for _, loc := range []string{"SRPMS/" + filepath.Base(c.srpm), "SRPMS/" + filepath.Base(c.srpmUntagged)} {
		if p := byLoc[loc]; p == nil || p.Arch != "src" {
			t.Errorf("%s: not listed as arch src: %+v", loc, p)
		}
	}
	if p := byLoc[filepath.Base(c.noSourceRPM)]; p == nil || p.Arch != "noarch" || p.SourceRPM != "(none)" {
		t.Errorf("binary package without SOURCERPM: %+v", p)
	}
	main := byLoc[filepath.Base(c.main)]
	if main == nil || len(main.Changelogs) != DefaultChangelogLimit {
		t.Fatalf("corpus-main: want %d changelog entries", DefaultChangelogLimit)
	}
	if got := main.Changelogs[len(main.Changelogs)-1].Author; got != "José Núñez <j@example.org> - 1.0-13" {
		t.Errorf("newest changelog author = %q", got)
	}
	latin := byLoc["sub/"+filepath.Base(c.latin1)]
	if latin == nil || latin.Summary != "Café crème  brûlée" || latin.Changelogs[0].Author != "François Müller <f@example.org> - 2-1" {
		t.Errorf("Latin-1 text not converted as createrepo_c converts it: %+v", latin)
	}
	for _, want := range []string{`author="Jos&#xE9; N&#xFA;&#xF1;ez`, `href="odd/a b &amp; &lt;c&gt; &quot;d&quot; 'e' &#xE9;.rpm"`} {
		if !bytes.Contains(plain["primary"], []byte(want)) && !bytes.Contains(plain["other"], []byte(want)) {
			t.Errorf("metadata lacks %s", want)
		}
	}
	for _, want := range []string{"linked/" + filepath.Base(c.latin1), ".hidden/" + filepath.Base(c.payloads[2]), ".dot.rpm"} {
		if byLoc[want] == nil {
			t.Errorf("%s not listed", want)
		}
	}
}

// testControlCharacters: a package with a control character in a requires is refused with
// an error that names the file, the field and the byte, and the repository stays as it
// was. createrepo_c leaves such a package out (with exit status 0); hotchain refuses the
// run, because a repository without one link of a chain breaks every host's update.
func testControlCharacters(t *testing.T, c *corpus) {
	dir := filepath.Join(t.TempDir(), "6.14.2")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, c.payloads[0], filepath.Join(dir, "good.rpm"))
	if _, err := Build(context.Background(), testOptions(dir)); err != nil {
		t.Fatal(err)
	}
	copyFile(t, c.control, filepath.Join(dir, "control.rpm"))
	before := snapshot(t, dir)
	_, err := Build(context.Background(), testOptions(dir))
	if err == nil {
		t.Fatal("a package with a control character in a requires was published")
	}
	for _, want := range []string{"control.rpm", "control character 0x01", `requires "bad\x01name"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	sameSnapshot(t, before, snapshot(t, dir))

	// What createrepo_c does with it, so that the README's claim stays true.
	theirs := filepath.Join(t.TempDir(), "6.14.2")
	os.MkdirAll(theirs, 0o755)
	copyFile(t, c.payloads[0], filepath.Join(theirs, "good.rpm"))
	copyFile(t, c.control, filepath.Join(theirs, "control.rpm"))
	// createrepo_c 0.17 exits 0, 1.2 exits 2 ("Pool finished with errors"); both write
	// the metadata of the other packages.
	out, code := runCreaterepoCode(t, theirs)
	if !strings.Contains(out, "Forbidden control chars") || code != 0 && code != 2 {
		t.Errorf("createrepo_c did not refuse the package (exit status %d):\n%s", code, out)
	}
	if pkgs, _ := readRepo(t, theirs); len(pkgs) != 1 {
		t.Errorf("createrepo_c listed %d packages, want the good one only", len(pkgs))
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
