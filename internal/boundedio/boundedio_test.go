package boundedio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "huge")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30) // 1 GiB of nothing, on no disk
	f.Close()
	for _, tc := range []struct {
		name, path string
		content    string // written to path unless empty
		limit      int64
		want       string // "" for success
	}{
		{"under the limit", filepath.Join(dir, "a"), "12345", 6, ""},
		{"at the limit", filepath.Join(dir, "b"), "123456", 6, ""},
		{"over the limit", filepath.Join(dir, "c"), "1234567", 6, "test file " + filepath.Join(dir, "c") + " is larger than 6 bytes, the most hotchain reads of it: refused"},
		{"1 GiB sparse file", sparse, "", 1 << 10, "test file " + sparse + " is larger than 1 KiB, the most hotchain reads of it: refused"},
		{"endless device", "/dev/zero", "", 64 << 10, "test file /dev/zero is larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content != "" {
				if err := os.WriteFile(tc.path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var got []byte
			var err error
			n := testutil.Allocated(func() { got, err = ReadFile(tc.path, "test file", tc.limit) })
			if tc.want == "" {
				if err != nil || string(got) != tc.content {
					t.Fatalf("ReadFile = %q, %v, want %q", got, err, tc.content)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !IsTooLarge(err) {
				t.Fatalf("ReadFile: %v, want a TooLargeError saying %q", err, tc.want)
			}
			if max := 3*uint64(tc.limit) + 16<<10; n > max {
				t.Errorf("refusing allocated %d bytes, want at most %d (three times the limit and a little)", n, max)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), "test file", 10); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want os.IsNotExist", err)
	}
}

func TestReader(t *testing.T) {
	r := &Reader{R: strings.NewReader("0123456789"), What: "list", Path: "p", Limit: 4}
	got, err := io.ReadAll(r)
	if string(got) != "0123" || !IsTooLarge(err) {
		t.Errorf("ReadAll = %q, %v; want the 4 bytes of the limit, then a TooLargeError", got, err)
	}
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Hint() == "" || tl.Path != "p" {
		t.Errorf("error %#v", err)
	}
	r = &Reader{R: bytes.NewReader([]byte("0123")), Limit: 4}
	if got, err := io.ReadAll(r); string(got) != "0123" || err != nil {
		t.Errorf("at the limit: %q, %v", got, err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{1: "1 bytes", 1024: "1 KiB", 1536: "1536 bytes", 64 << 20: "64 MiB", 4 << 30: "4 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
