package boundedio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestReadFileRefusesNonRegular: a named pipe (without a writer: its open used to wait
// forever), a device, a socket and a directory are refused by kind and path before a byte
// is read.
func TestReadFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct{ path, kind string }{
		{fifo, "named pipe"},
		{"/dev/zero", "character device"},
		{sock, "socket"},
		{dir, "directory"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := ReadFile(tc.path, "test file", 64<<10); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				if tc.path == fifo { // a writer lets the blocked open return
					if w, werr := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); werr == nil {
						w.Close()
					}
				}
				t.Fatalf("ReadFile(%s) still waits after 30 s", tc.path)
			}
			want := "test file " + tc.path + " is a " + tc.kind + ", not a regular file: refused"
			if err == nil || err.Error() != want || !IsNotRegular(err) {
				t.Fatalf("ReadFile: %v, want %q", err, want)
			}
			var nr *NotRegularError
			if !errors.As(err, &nr) || !strings.Contains(nr.Hint(), tc.path) {
				t.Errorf("hint %q does not name the path", nr.Hint())
			}
		})
	}
}
