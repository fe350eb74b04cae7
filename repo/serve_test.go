package repo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log that the server writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs Serve on a free port and returns its base URL; the server stops when
// the test ends, and the test fails if it did not stop cleanly.
func startServe(t *testing.T, dir string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &syncBuffer{}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, dir, "127.0.0.1:0", log, func(a string) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop after cancel")
		}
	})
	return base, log
}

// rawGet sends a request line as is (Go's client would clean the path) and returns the
// status code.
func rawGet(t *testing.T, base, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServe(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "root")
	os.MkdirAll(filepath.Join(dir, "6.14.2", "repodata"), 0o755)
	os.MkdirAll(filepath.Join(dir, ".repodata.tmp-1"), 0o755)
	content := bytes.Repeat([]byte("0123456789"), 1000)
	os.WriteFile(filepath.Join(dir, "6.14.2", "a.rpm"), content, 0o644)
	os.WriteFile(filepath.Join(dir, "6.14.2", ".hidden"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "6.14.2", ".old"), 0o755)
	os.WriteFile(filepath.Join(dir, "6.14.2", ".old", "b.rpm"), []byte("hidden package"), 0o644)
	os.WriteFile(filepath.Join(dir, ".repodata.tmp-1", "x.rpm"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".repodata.tmp-1", "repomd.xml"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(top, "secret"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(top, "secret"), filepath.Join(dir, "6.14.2", "link.rpm"))
	base, log := startServe(t, dir)

	resp, err := http.Get(base + "/6.14.2/a.rpm")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(content)) || !bytes.Equal(body, content) {
		t.Errorf("GET: status %d, Content-Length %d, %d bytes; want 200 and %d", resp.StatusCode, resp.ContentLength, len(body), len(content))
	}

	req, _ := http.NewRequest("GET", base+"/6.14.2/a.rpm", nil)
	req.Header.Set("Range", "bytes=100-149")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(content[100:150]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-149/%d", len(content)) {
		t.Errorf("Range: status %d, Content-Range %q, body %q", resp.StatusCode, resp.Header.Get("Content-Range"), body)
	}

	// A hidden package is listed by hotchain repo (as createrepo_c lists it), so it is served.
	if resp, err := http.Get(base + "/6.14.2/.old/b.rpm"); err != nil {
		t.Fatal(err)
	} else if body, _ := io.ReadAll(resp.Body); resp.Body.Close() == nil && (resp.StatusCode != 200 || string(body) != "hidden package") {
		t.Errorf("GET a hidden package: status %d, %q", resp.StatusCode, body)
	}
	for _, target := range []string{
		"/6.14.2/missing.rpm", "/.repodata.tmp-1/x.rpm/..", "/6.14.2/.old/..%2fa.rpm",
		"/../secret", "/6.14.2/../../secret", "/%2e%2e/secret", "/6.14.2/..%2f..%2fsecret",
		"/6.14.2/link.rpm", // a symlink out of the root
		"/6.14.2/.hidden", "/.repodata.tmp-1/repomd.xml",
		"/", "/6.14.2/", "/6.14.2", "/6.14.2/repodata/", // no listings
		"/6.14.2//a.rpm",
	} {
		if code := rawGet(t, base, target); code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, code)
		}
	}
	if resp, err := http.Post(base+"/6.14.2/a.rpm", "text/plain", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
	if l := log.String(); !strings.Contains(l, `"/6.14.2/a.rpm" 200 10000`) || !strings.Contains(l, `"/6.14.2/missing.rpm" 404`) {
		t.Errorf("request log lacks the requests:\n%s", l)
	}
}

func TestServeErrors(t *testing.T) {
	if err := Serve(context.Background(), filepath.Join(t.TempDir(), "missing"), "127.0.0.1:0", nil, nil); err == nil {
		t.Error("missing directory served")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := Serve(context.Background(), t.TempDir(), ln.Addr().String(), nil, nil); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("busy port: %v", err)
	}
}
