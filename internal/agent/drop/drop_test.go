package drop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/packaging/unpack"
)

func TestClassifyDropName(t *testing.T) {
	for _, c := range []struct {
		name    string
		archive string // "" left alone
		sig     bool
		kind    Kind
		version string
		bad     bool
	}{
		{name: "shop-hotfix-6.14.2.3.tar.gz", archive: "shop-hotfix-6.14.2.3.tar.gz", kind: Tarball, version: "6.14.2.3"},
		{name: "shop-hotfix-6.14.2.3.tar.gz.sig", archive: "shop-hotfix-6.14.2.3.tar.gz", sig: true, kind: Tarball, version: "6.14.2.3"},
		{name: "shop-hotfix-bundle-6.14.2.1-6.14.2.4.tar", archive: "shop-hotfix-bundle-6.14.2.1-6.14.2.4.tar", kind: Bundle, version: "6.14.2.4"},
		{name: "shop-hotfix-bundle-6.14.2.1-6.14.2.4.tar.sig", archive: "shop-hotfix-bundle-6.14.2.1-6.14.2.4.tar", sig: true, kind: Bundle, version: "6.14.2.4"},
		{name: "shop-hotfix-6.14.2.x.tar.gz", archive: "shop-hotfix-6.14.2.x.tar.gz", kind: Tarball, bad: true},
		{name: "shop-hotfix-6_14_2_3-1-0.noarch.rpm", archive: "shop-hotfix-6_14_2_3-1-0.noarch.rpm", kind: Tarball, bad: true},
		{name: "shop-hotfix-notes.sig", archive: "shop-hotfix-notes", sig: true, kind: Tarball, bad: true},
		// A name that would add lines to the import's .repo file, log and report.
		{name: "shop-hotfix-bundle-x\nexcludepkgs=*-6.14.2.4.tar", archive: "shop-hotfix-bundle-x\nexcludepkgs=*-6.14.2.4.tar", kind: Bundle, version: "6.14.2.4", bad: true},
		{name: "shop-hotfix-bundle-x\nexcludepkgs=*-6.14.2.4.tar.sig", archive: "shop-hotfix-bundle-x\nexcludepkgs=*-6.14.2.4.tar", sig: true, kind: Bundle, version: "6.14.2.4", bad: true},
		{name: "shop-hotfix-6.14.2.3\n.tar.gz", archive: "shop-hotfix-6.14.2.3\n.tar.gz", kind: Tarball, bad: true},
		// Transfer tools' temporary names: never taken, never refused.
		{name: ".shop-hotfix-6.14.2.3.tar.gz.Xy12Ab"},
		{name: "shop-hotfix-6.14.2.3.tar.gz.part"},
		{name: "shop-hotfix-6.14.2.3.tar.gz.filepart"},
		{name: "shop-hotfix-6.14.2.3.tar.gz.tmp"},
		{name: "shop-hotfix-6.14.2.3.tar.gz~"},
		// Not for this product: left alone.
		{name: "other-hotfix-6.14.2.3.tar.gz"},
		{name: "README.txt"},
		{name: "shop-hotfix-notes.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := Classify("shop", c.name)
			if n.Archive != c.archive || n.Sig != c.sig || n.Kind != c.kind || (n.Bad != "") != c.bad {
				t.Fatalf("got archive %q sig %v kind %v bad %q; want %q %v %v bad=%v", n.Archive, n.Sig, n.Kind, n.Bad, c.archive, c.sig, c.kind, c.bad)
			}
			got := ""
			if n.Version != nil {
				got = n.Version.String()
			}
			if got != c.version {
				t.Errorf("version %q, want %q", got, c.version)
			}
		})
	}
}

// writeAged writes name in dir with a ctime in the past as far as settled is concerned:
// the tests pass a now that lies settle after the write.
func writeDropFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanDropPairsInChainOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{
		"shop-hotfix-6.14.2.10.tar.gz", "shop-hotfix-6.14.2.10.tar.gz.sig",
		"shop-hotfix-6.14.2.9.tar.gz",
		"shop-hotfix-6.14.2.2.tar.gz.sig",
		".shop-hotfix-6.14.2.1.tar.gz.abc", "README", "shop-hotfix-x.rpm",
	} {
		writeDropFile(t, dir, n, n)
	}
	if err := os.Mkdir(filepath.Join(dir, "done"), 0o700); err != nil {
		t.Fatal(err)
	}
	pairs, err := Scan(dir, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pairs {
		got = append(got, strings.Join(p.Names(), "+"))
	}
	want := []string{
		"shop-hotfix-6.14.2.2.tar.gz.sig",
		"shop-hotfix-6.14.2.9.tar.gz",
		"shop-hotfix-6.14.2.10.tar.gz+shop-hotfix-6.14.2.10.tar.gz.sig",
		"shop-hotfix-x.rpm",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pairs %q, want %q", got, want)
	}
	now := time.Now().Add(time.Hour)
	for i, wantWhy := range []string{"waits for its archive", "waits for its signature", "", ""} {
		why, _, _ := PairState(dir, pairs[i], now)
		if wantWhy == "" && why != "" || !strings.Contains(why, wantWhy) {
			t.Errorf("%s: why %q, want %q", got[i], why, wantWhy)
		}
	}
	if pairs[3].Bad == "" {
		t.Errorf("the RPM is not refused")
	}
	// A partner missing for more than a day is worth a report; less is not.
	for _, c := range []struct {
		after time.Duration
		stale bool
	}{{time.Hour, false}, {Stale + time.Hour, true}} {
		for _, p := range pairs[:2] {
			if _, stale, _ := PairState(dir, p, time.Now().Add(c.after)); stale != c.stale {
				t.Errorf("%s after %s: stale %v, want %v", p.Names(), c.after, stale, c.stale)
			}
		}
	}
}

// TestSettledWaitsForWriters: a file just changed, or held open for writing by another
// process (the real lease check), is not complete; once the writer is gone and the settle
// time is over, it is.
func TestSettledWaitsForWriters(t *testing.T) {
	dir := t.TempDir()
	name := "shop-hotfix-6.14.2.1.tar.gz"
	path := filepath.Join(dir, name)
	writeDropFile(t, dir, name, "data")
	look := func(now time.Time, settle time.Duration) (bool, string) {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		ok, why, _ := Settled(dir, &File{Name: name, Info: fi}, now, settle)
		return ok, why
	}
	if ok, why := look(time.Now(), time.Hour); ok || !strings.Contains(why, "changed") {
		t.Fatalf("a file just written: ok %v, %q", ok, why)
	}
	later := time.Now().Add(time.Hour)
	if ok, why := look(later, time.Second); !ok {
		t.Fatalf("a settled file: %q", why)
	}

	// A child process holds it open for writing, as a copy in progress does.
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "60")
	child.ExtraFiles = []*os.File{w}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close() // only the child has it open now
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	if ok, why := look(later, time.Second); ok || why != "open for writing" {
		t.Fatalf("a file open for writing in another process: ok %v, %q", ok, why)
	}
	child.Process.Kill()
	child.Wait()
	if ok, why := look(later, time.Second); !ok {
		t.Fatalf("after the writer ended: %q", why)
	}

	// A file that changed between the scan and the check is not taken either.
	fi, _ := os.Lstat(path)
	writeDropFile(t, dir, name, "more data")
	if ok, _, _ := Settled(dir, &File{Name: name, Info: fi}, later, time.Second); ok {
		t.Fatal("a file that changed after the scan counts as complete")
	}
}

// TestDropMoveNeverReplaces: a second pair of the same name goes beside the first with a
// suffix, the reason beside it; a refused/ that is a symlink is not followed.
func TestDropMoveNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	df, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	name := "shop-hotfix-6.14.2.1.tar.gz"
	for i, body := range []string{"first", "second"} {
		writeDropFile(t, dir, name, body)
		writeDropFile(t, dir, name+".sig", body+" sig")
		pairs, err := Scan(dir, "shop")
		if err != nil || len(pairs) != 1 {
			t.Fatalf("scan: %v %d", err, len(pairs))
		}
		base, err := df.Move(Refused, pairs[0], "reason "+body+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{name, name + ".1"}[i]; base != want {
			t.Fatalf("base %q, want %q", base, want)
		}
		for suffix, want := range map[string]string{"": body, ".sig": body + " sig", ".reason": "reason " + body + "\n"} {
			got, err := os.ReadFile(filepath.Join(dir, Refused, base+suffix))
			if err != nil || string(got) != want {
				t.Errorf("%s%s: %q %v, want %q", base, suffix, got, err, want)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, Refused)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("refused/: %v %v, want mode 0700", fi.Mode(), err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("the folder holds %d entries after the moves, want refused/ alone", len(left))
	}

	// done/ as a symlink to elsewhere: nothing is moved through it.
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, Done)); err != nil {
		t.Fatal(err)
	}
	writeDropFile(t, dir, name, "third")
	writeDropFile(t, dir, name+".sig", "third sig")
	pairs, _ := Scan(dir, "shop")
	if _, err := df.Move(Done, pairs[0], ""); err == nil {
		t.Fatal("moved into a symlinked done/")
	}
	if names, _ := os.ReadDir(elsewhere); len(names) != 0 {
		t.Fatalf("files arrived through the symlink: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		t.Fatalf("the pair left the folder: %v", err)
	}
}

// TestDropRetry: what is the host's trouble leaves the pair for the next run; what is the
// file's is refused.
func TestDropRetry(t *testing.T) {
	for _, c := range []struct {
		err   error
		retry bool
	}{
		{fmt.Errorf("unpack tarball: %w", syscall.ENOSPC), true},
		{&os.PathError{Op: "write", Path: "/var/opt/shop/Patches/x", Err: syscall.EIO}, true},
		{fmt.Errorf("stopped: %w", context.Canceled), true},
		{&unpack.SignatureError{Err: errors.New("signature does not match")}, false},
		{errors.New("tarball x is not gzip-compressed"), false},
		{&applier.PrereqError{Version: hotfix.Version{6, 14, 2, 2}, Reason: "hotfix 6.14.2.1 is not applied yet"}, false},
	} {
		if got := Retry(c.err); got != c.retry {
			t.Errorf("dropRetry(%v) = %v, want %v", c.err, got, c.retry)
		}
	}
}

// TestDropLongNames: names too long for NAME.N, NAME.reason and its temporary file beside
// them are refused and moved under a shortened name, twice over, instead of looping.
func TestDropLongNames(t *testing.T) {
	dir := t.TempDir()
	df, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	for _, n := range []int{234, 226, 180} {
		name := "shop-hotfix-" + strings.Repeat("A", n) + ".rpm" // 250, 242, 196 bytes
		for round := 0; round < 2; round++ {
			writeDropFile(t, dir, name, "x")
			pairs, err := Scan(dir, "shop")
			if err != nil || len(pairs) != 1 {
				t.Fatalf("scan: %v %d", err, len(pairs))
			}
			if pairs[0].Bad == "" {
				t.Fatalf("%d bytes: not refused", len(name))
			}
			if len(name) > MaxName && !strings.Contains(pairs[0].Bad, "bytes long") {
				t.Errorf("%d bytes: reason %q does not name the length", len(name), pairs[0].Bad)
			}
			base, err := df.Move(Refused, pairs[0], "reason\n")
			if err != nil {
				t.Fatalf("%d bytes, round %d: %v", len(name), round, err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, Refused, base+".reason")); err != nil || string(got) != "reason\n" {
				t.Errorf("%s.reason: %q %v", base, got, err)
			}
			if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
				t.Errorf("%d bytes: still in the folder (%v)", len(name), err)
			}
		}
	}
}

// TestDropOpenArchiveRefusesSwap: an archive swapped after the scan for a symlink to a FIFO
// (or for another file) is not opened; the FIFO never gets a reader.
func TestDropOpenArchiveRefusesSwap(t *testing.T) {
	dir := t.TempDir()
	df, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	name := "shop-hotfix-6.14.2.1.tar.gz"
	writeDropFile(t, dir, name, "tarball")
	writeDropFile(t, dir, name+".sig", "sig")
	pairs, err := Scan(dir, "shop")
	if err != nil || len(pairs) != 1 {
		t.Fatalf("scan: %v %d", err, len(pairs))
	}
	f, err := df.OpenArchive(pairs[0].ArchiveFile)
	if err != nil {
		t.Fatalf("the scanned file: %v", err)
	}
	f.Close()

	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, path); err != nil {
		t.Fatal(err)
	}
	if f, err := df.OpenArchive(pairs[0].ArchiveFile); err == nil {
		f.Close()
		t.Fatal("opened the archive through a symlink put in its place")
	} else if !errors.Is(err, errChanged) {
		t.Errorf("error %v, want one that says the file changed", err)
	}
	// No reader holds the FIFO: a non-blocking open of its write end finds none.
	if _, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("open the FIFO's write end: %v, want ENXIO (no reader)", err)
	}

	// Another regular file under the name: not the scanned one.
	os.Remove(path)
	writeDropFile(t, dir, name, "other bytes")
	if f, err := df.OpenArchive(pairs[0].ArchiveFile); err == nil {
		f.Close()
		t.Fatal("opened a file that replaced the scanned one")
	}
}

// TestDropNamesShownEscaped: a name with a newline, a carriage return or an escape is
// refused, and every line about it shows it quoted, so it cannot forge a report line.
func TestDropNamesShownEscaped(t *testing.T) {
	evil := "shop-hotfix-6.14.2.3.tar.gz\nInstalled: 9.9.9.9 \x1b[31m\r"
	for _, name := range []string{evil, evil + ".sig", "shop-hotfix-6.14.2.\x1b[2J3.tar.gz", "shop-hotfix-bundle-1\n-6.14.2.4.tar"} {
		n := Classify("shop", name)
		if n.Archive == "" || n.Bad == "" {
			t.Errorf("%q: archive %q bad %q, want refused", name, n.Archive, n.Bad)
		}
		if strings.ContainsAny(n.Bad, "\n\r\x1b") || strings.ContainsAny(n.Shown(), "\n\r\x1b") {
			t.Errorf("%q: shown raw: %q / %q", name, n.Bad, n.Shown())
		}
	}
	dir := t.TempDir()
	writeDropFile(t, dir, evil, "x")
	pairs, err := Scan(dir, "shop")
	if err != nil || len(pairs) != 1 {
		t.Fatalf("scan: %v %d", err, len(pairs))
	}
	var d Result
	d.List(dir, pairs, nil, time.Now().Add(time.Hour))
	for _, l := range append(d.Ready, d.Waiting...) {
		if strings.ContainsAny(l, "\n\r\x1b") {
			t.Errorf("report line holds a raw control character: %q", l)
		}
	}
	if len(d.Ready)+len(d.Waiting) != 1 {
		t.Errorf("ready %q waiting %q, want one line", d.Ready, d.Waiting)
	}
}

func TestDropResultCapLists(t *testing.T) {
	var d Result
	for i := range 250 {
		d.Waiting = append(d.Waiting, fmt.Sprintf("w%d", i))
	}
	d.Refused = []string{"a"}
	d.CapLists()
	if len(d.Waiting) != MaxLines || d.Waiting[MaxLines-1] != fmt.Sprintf("... and %d more", 250-MaxLines+1) || len(d.Refused) != 1 {
		t.Fatalf("waiting %d lines ending %q, refused %q", len(d.Waiting), d.Waiting[len(d.Waiting)-1], d.Refused)
	}
}

// TestDropWatcher: the daemon starts a run for complete pairs only when they differ from
// what the last run left, at most once a RunGap but for the first; events on names that
// are no candidates do not count.
func TestDropWatcher(t *testing.T) {
	for name, want := range map[string]bool{
		"shop-hotfix-6.14.2.1.tar.gz": true, "shop-hotfix-6.14.2.1.tar.gz.sig": true, "shop-hotfix-junk.rpm": true,
		".shop-hotfix-6.14.2.1.tar.gz.Xy12": false, "shop-hotfix-6.14.2.1.tar.gz.part": false, "README": false, "other-hotfix-6.14.2.1.tar.gz": false,
	} {
		if got := Watched("shop", name); got != want {
			t.Errorf("Watched(%q) = %v, want %v", name, got, want)
		}
	}
	var w Watcher
	now := time.Now()
	if run, _ := w.Decide("", now); run {
		t.Fatal("a run for nothing complete")
	}
	if run, _ := w.Decide("a", now); !run {
		t.Fatal("the first look does not run")
	}
	w.Ran(now, "a") // the run left a as it was (refused, could not move it)
	for i := range 100 {
		if run, _ := w.Decide("a", now.Add(time.Duration(i)*time.Hour)); run {
			t.Fatal("a run again for what the last run left")
		}
	}
	if run, wait := w.Decide("b", now.Add(time.Second)); run || wait <= 0 || wait > RunGap() {
		t.Fatalf("a change within RunGap: run %v wait %v, want a wait of at most %v", run, wait, RunGap())
	}
	if run, _ := w.Decide("b", now.Add(RunGap())); !run {
		t.Fatal("a change after RunGap does not run")
	}
	w.Ran(now.Add(RunGap()), "") // another run held the lock: tried again
	if run, _ := w.Decide("b", now.Add(2*RunGap())); !run {
		t.Fatal("a locked-out run is not tried again")
	}
}

// TestDropFolderSymlinkRefused: DROP_DIR as a symlink is neither scanned nor opened: the
// error says so and names the real directory's way.
func TestDropFolderSymlinkRefused(t *testing.T) {
	real := t.TempDir()
	writeDropFile(t, real, "shop-hotfix-6.14.2.1.tar.gz", "x")
	link := filepath.Join(t.TempDir(), "drop")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if pairs, err := Scan(link, "shop"); err == nil || !strings.Contains(err.Error(), "is a symlink") {
		t.Fatalf("scan through a symlink: %d pairs, %v", len(pairs), err)
	}
	if df, err := OpenDir(link); err == nil {
		df.Close()
		t.Fatal("opened DROP_DIR through a symlink")
	}
	if pairs, err := Scan(real, "shop"); err != nil || len(pairs) != 1 || !pairs[0].ArchiveFile.Info.Mode().IsRegular() {
		t.Fatalf("the real folder: %v %d", err, len(pairs))
	}
}

// TestDropDirectoryAndReplacedArchive: a directory with the archive's name is named as
// such; a file put in the place of a taken one is not moved to done/.
func TestDropDirectoryAndReplacedArchive(t *testing.T) {
	dir := t.TempDir()
	name := "shop-hotfix-6.14.2.1.tar.gz"
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	writeDropFile(t, dir, name+".sig", "sig")
	pairs, err := Scan(dir, "shop")
	if err != nil || len(pairs) != 1 {
		t.Fatalf("scan: %v %d", err, len(pairs))
	}
	if why, _, _ := PairState(dir, pairs[0], time.Now().Add(time.Hour)); !strings.Contains(why, "is a directory, not the archive") {
		t.Errorf("why %q", why)
	}
	os.Remove(filepath.Join(dir, name))

	writeDropFile(t, dir, name, "taken")
	pairs, _ = Scan(dir, "shop")
	df, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "kept-aside")); err != nil { // its inode stays taken
		t.Fatal(err)
	}
	writeDropFile(t, dir, name, "put in its place")
	if _, err := df.Move(Done, pairs[0], ""); !errors.Is(err, errChanged) {
		t.Fatalf("move of a replaced archive: %v, want it left", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != "put in its place" {
		t.Fatalf("the folder's archive is %q", got)
	}
	if names, _ := os.ReadDir(filepath.Join(dir, Done)); len(names) != 0 {
		t.Fatalf("done/ holds %d files", len(names))
	}
}
