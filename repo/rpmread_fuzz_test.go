package repo

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/hotchain/hotchain/repo/rpmfile"
	"github.com/hotchain/hotchain/repo/rpmmd"
)

// FuzzReadPackage feeds arbitrary bytes to both ways a package is read (from memory and
// streamed): neither may panic, both must agree, and what they allocate must stay in
// proportion to the input (the headers' counts and sizes are checked against the bytes
// that are there before anything is allocated for them), apart from the full file paths,
// which maxFileListBytes caps.
func FuzzReadPackage(f *testing.F) {
	vendor, _ := testKeys(f)
	dir := f.TempDir()
	for _, p := range []testPkg{pkgBase, pkgTools, pkgMeta} {
		data, err := os.ReadFile(p.build(f, dir, vendor))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// When fuzzing, rpmbuild's packages (the corpus of corpus_test.go) are seeds too: more
	// tags and types than rpmpack writes. A plain test run leaves them to TestCorpus.
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" && !testing.Short() {
		if _, err := exec.LookPath("rpmbuild"); err == nil {
			c := buildCorpus(f)
			for _, p := range append([]string{c.main, c.latin1, c.srpm, c.srpmUntagged, c.control}, c.payloads...) {
				data, err := os.ReadFile(p)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
	opts := rpmfile.Options{ChangelogLimit: AllChangelogs}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p1, _, err1 := rpmfile.ReadData(data, "x.rpm", opts)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		var paths uint64
		if p1 != nil {
			for _, f := range p1.Files {
				paths += uint64(len(f.Path))
			}
		}
		if limit := 64*uint64(len(data)) + 2*paths + 1<<20; alloc > limit {
			t.Errorf("reading %d bytes allocated %d bytes, more than %d", len(data), alloc, limit)
		}
		p2, _, err2 := rpmfile.Read(bytes.NewReader(data), "x.rpm", newBufReader(), opts)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("from memory: %v; streamed: %v", err1, err2)
		}
		if err1 != nil {
			if err1.Error() != err2.Error() {
				t.Errorf("from memory: %v; streamed: %v", err1, err2)
			}
			return
		}
		if d := firstDiff("pkg", reflectOf(p2), reflectOf(p1)); d != "" {
			t.Errorf("streamed and from memory differ: %s", d)
		}
		// Whatever was read must make well-formed metadata.
		var w rpmmd.Writer
		e := newEntry(p1, &w)
		for k, x := range e.xml {
			if err := rpmmd.CheckElement(x); err != nil {
				t.Errorf("element %d is not well-formed: %v\n%s", k, err, x)
			}
		}
	})
}

func newBufReader() *bufio.Reader { return bufio.NewReaderSize(nil, 64<<10) }
