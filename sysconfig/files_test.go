package sysconfig

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/boundedio"
)

// TestReadTrustedRefusesFIFO: a settings file or TARBALL_KEY that is a named pipe without
// a writer is refused by path and kind at once; its open used to wait for a writer forever.
func TestReadTrustedRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "shop-hotfix")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() error{
		"ReadTrusted": func() error { _, err := ReadTrusted(p, "TARBALL_KEY", 1<<20); return err },
		"Load":        func() error { _, err := Load("", p, nil); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- read() }()
		select {
		case err := <-done:
			if !boundedio.IsNotRegular(err) || !strings.Contains(err.Error(), p+" is a named pipe, not a regular file") {
				t.Errorf("%s: %v, want a refusal of the named pipe", name, err)
			}
		case <-time.After(30 * time.Second):
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close() // lets the waiting open return
			}
			t.Fatalf("%s still waits for a writer of the named pipe after 30 s", name)
		}
	}
}
