package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Serve serves the repositories under dir over HTTP on listen until ctx is done, then
// shuts down, letting running downloads finish for a few seconds. ready, if not nil, is
// called with the address actually listened on (listen may say port 0). Each request is
// logged to log.
//
// What is served is what dnf needs and nothing else: regular files under dir, with
// http.FileServer's Content-Length, Range and If-Modified-Since handling (ServeContent). Paths are opened
// through an os.Root, so neither ".." nor a symlink leads out of dir; hidden files and
// directories (names starting with a dot, like the temporary directories of a running
// `hotchain repo`) are not served; directories are not listed.
func Serve(ctx context.Context, dir, listen string, log io.Writer, ready func(addr string)) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer root.Close()
	if log == nil {
		log = io.Discard
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           logRequests(log, fileHandler(root.FS())),
		ReadHeaderTimeout: 10 * time.Second,
		// Reads of a large RPM over a slow link are fine; idle connections are not kept.
		IdleTimeout: time.Minute,
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func fileHandler(fsys fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := servedName(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		f, err := fsys.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		rs, seekable := f.(io.ReadSeeker)
		if err != nil || !fi.Mode().IsRegular() || !seekable {
			// A directory (no listings) or something else: a 404 all the same, so that
			// the server says nothing about what is there.
			http.NotFound(w, r)
			return
		}
		// ServeContent is http.FileServer's core: Content-Length, Range, conditional GET.
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), rs)
	})
}

// servedName maps a URL path to a name in the served tree; ok is false for any path with
// an empty, "." or ".." element (no cleaning: a client that sends those is not dnf), and for
// hidden files and directories (.git, a half-written .repodata.tmp-*) unless the path is a
// package: `hotchain repo` lists hidden packages, as createrepo_c does, and what the
// metadata lists must be fetchable.
func servedName(urlPath string) (string, bool) {
	p := strings.TrimPrefix(urlPath, "/")
	if p == "" || strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
		return "", false
	}
	pkg := strings.HasSuffix(p, ".rpm")
	for _, elem := range strings.Split(p, "/") {
		if elem == "" || elem == "." || elem == ".." || strings.HasPrefix(elem, ".") && !pkg {
			return "", false
		}
	}
	return p, fs.ValidPath(p)
}

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.n += int64(n)
	return n, err
}

func logRequests(log io.Writer, h http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(log, "%s %s %s %q %d %d %s\n", start.UTC().Format(time.RFC3339), r.RemoteAddr, r.Method, r.URL.RequestURI(), sw.status, sw.n, time.Since(start).Round(time.Millisecond))
	})
}
