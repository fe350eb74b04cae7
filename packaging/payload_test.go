package packaging

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestCopyCheckedRefusesChangedFiles: the packages hold exactly what filelist.txt lists;
// a file that changed after it was hashed fails the build, whatever the change.
func TestCopyCheckedRefusesChangedFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Cart.pm")
	orig := []byte("package Shop::Cart;\n1;\n")
	sum := sha256.Sum256(orig)
	want := hex.EncodeToString(sum[:])
	buf := make([]byte, 4)
	for _, tt := range []struct {
		name    string
		content []byte
		ok      bool
	}{
		{"unchanged", orig, true},
		{"same size, other bytes", bytes.ToUpper(orig), false},
		{"shorter", orig[:10], false},
		{"longer", append(append([]byte(nil), orig...), "# more\n"...), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(p, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := copyChecked(&out, p, int64(len(orig)), want, sha256.New(), buf)
			if tt.ok {
				if err != nil || !bytes.Equal(out.Bytes(), orig) {
					t.Fatalf("err %v, copied %q", err, out.Bytes())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "changed while the hotfix was being built") {
				t.Fatalf("err = %v, want a changed-file error", err)
			}
		})
	}
}

// TestBuildStreamsContent: building a hotfix reads its files from disk as it packs them,
// so the memory it takes does not grow with their size (a hotfix may be hundreds of
// megabytes): 24 MB more content may not cost anything near 24 MB more heap. (The
// collector runs often meanwhile, so that the heap is about what is live.)
func TestBuildStreamsContent(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 32 MB")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i*7 + i/4096)
	}
	peakFor := func(files int) uint64 {
		src := sampleDir(t, nil)
		for i := 0; i < files; i++ {
			if err := os.WriteFile(filepath.Join(src, "FileChanges", fmt.Sprintf("%d.bin", i)), big, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		stop := make(chan struct{})
		peak := make(chan uint64)
		go func() {
			var max uint64
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				max = maxU(max, m.HeapInuse)
				select {
				case <-stop:
					peak <- max
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		res, err := Build(src, BuildOptions{Product: "shop", OutDir: t.TempDir(), Time: sde})
		close(stop)
		max := <-peak
		if err != nil {
			t.Fatal(err)
		}
		p := openRPM(t, res.RPM)
		n := 0
		for _, f := range p.Files() {
			if strings.HasSuffix(f.Name(), ".bin") && f.Size() == int64(len(big)) {
				n++
			}
		}
		if n != files {
			t.Fatalf("the RPM holds %d of the %d big files", n, files)
		}
		return max
	}
	small, large := peakFor(1), peakFor(4)
	grown := int64(large) - int64(small)
	t.Logf("peak heap: %.1f MB with 8 MB of content, %.1f MB with 32 MB", float64(small)/(1<<20), float64(large)/(1<<20))
	if grown > 8<<20 {
		t.Errorf("24 MB more content took %d MB more heap: is the content held in memory?", grown>>20)
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// TestSplitHeadersRefusesShortInput: rpmpack's output is cut after its header; a header
// that claims more than there is must not be cut out of bounds.
func TestSplitHeadersRefusesShortInput(t *testing.T) {
	lead := make([]byte, 96)
	intro := []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 1, 0} // 9 entries, 256 bytes
	if _, _, err := splitHeaders(append(lead, intro...)); err == nil {
		t.Fatal("a header longer than the input was accepted")
	}
	if _, _, err := splitHeaders(lead[:50]); err == nil {
		t.Fatal("input shorter than the lead was accepted")
	}
}
