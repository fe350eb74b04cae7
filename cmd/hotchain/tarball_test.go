package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/sysconfig"
)

// raceTarballs builds the signed tarball of hotfix 6.14.2.1 and an unsigned one of the same
// version whose Core.pm says "evil", and returns a Config whose TARBALL_KEY checks the
// signed one and whose PATCHES_DIR does not exist yet.
func raceTarballs(t *testing.T) (cfg *sysconfig.Config, signed, evil []byte, sig string) {
	t.Helper()
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	signer, err := sign.GenerateKey("Shop Hotfixes", "hotfixes@shop.example", sign.Ed25519, when)
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.TarballKeyFromSigner(signer)
	if err != nil {
		t.Fatal(err)
	}
	build := func(core string, key *sign.TarballKey) *packaging.BuildResult {
		src := filepath.Join(t.TempDir(), "shop-hotfix-6.14.2.1")
		for rel, body := range map[string]string{
			"version.txt":                 "6.14.2.1\n",
			"fixed-bugs.txt":              "SHOP-1 Core is slow\n",
			"FileChanges/lib/Core.pm":     core,
			"Install/10-restart-local.sh": "#!/bin/sh\necho " + strings.TrimSpace(core) + "\n",
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(src, rel)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, rel), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		res, err := packaging.Build(src, packaging.BuildOptions{Product: "shop", TarballKey: key, Time: when, OutDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	good, bad := build("core 2\n", key), build("evil\n", nil)
	if signed, err = os.ReadFile(good.Tarball); err != nil {
		t.Fatal(err)
	}
	if evil, err = os.ReadFile(bad.Tarball); err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg = &sysconfig.Config{TarballKey: filepath.Join(dir, "tarball-key.pem"), PatchesDir: filepath.Join(dir, "Patches")}
	if err := os.WriteFile(cfg.TarballKey, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, signed, evil, good.Signature
}

// TestTarballFromFIFOIsRefused: a named pipe at X.tar.gz that serves the signed bytes to its
// first reader and other bytes to the second must not get the other bytes applied; hotchain
// refuses anything but a regular file.
func TestTarballFromFIFOIsRefused(t *testing.T) {
	cfg, signed, evil, sig := raceTarballs(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "shop-hotfix-6.14.2.1.tar.gz")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, sig, fifo+".sig")
	stop := make(chan struct{})
	served := make(chan int, 1)
	go func() { // each reader that opens the pipe gets the next content
		n := 0
		defer func() { served <- n }()
		for _, body := range [][]byte{signed, evil} {
			var w *os.File
			for w == nil {
				f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0) // ENXIO until a reader opens
				if err == nil {
					w = f
					break
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
			syscall.SetNonblock(int(w.Fd()), false)
			w.Write(body) // EPIPE when the reader gives up early
			w.Close()
			n++
			// The next content is for the next reader: wait until this one closed the pipe
			// (a reader blocked in open has no descriptor yet).
			for openInProcess(t, fifo) {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}
	}()
	dirOut, err := unpackVerified(cfg, fifo)
	close(stop)
	<-served
	if err == nil {
		core, _ := os.ReadFile(filepath.Join(dirOut, "FileChanges/lib/Core.pm"))
		t.Fatalf("a FIFO tarball was unpacked into %s (Core.pm %q), want it refused", dirOut, core)
	}
	if !strings.Contains(err.Error(), "named pipe") || !strings.Contains(err.Error(), fifo) {
		t.Errorf("error %q does not name the pipe %s", err, fifo)
	}
	var h interface{ Hint() string }
	if !errors.As(err, &h) || !strings.Contains(h.Hint(), "copy the tarball") {
		t.Errorf("no hint to copy the tarball with %v", err)
	}
	if _, err := os.Stat(cfg.PatchesDir); !os.IsNotExist(err) {
		t.Errorf("PATCHES_DIR %s was made for a refused tarball: %v", cfg.PatchesDir, err)
	}
}

// TestTarballIsOpenedOnce: the signature check and the unpack use one read of the tarball,
// so a file replaced at its path between them (a rename) cannot get unsigned content in.
// inotify counts the opens of the tarball's inode (with the closes, so that the kernel does
// not merge two opens in a row into one event).
func TestTarballIsOpenedOnce(t *testing.T) {
	cfg, signed, _, sig := raceTarballs(t)
	dir := t.TempDir()
	tarball := filepath.Join(dir, "shop-hotfix-6.14.2.1.tar.gz")
	if err := os.WriteFile(tarball, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, sig, tarball+".sig")
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Skipf("no inotify: %v", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, tarball, unix.IN_OPEN|unix.IN_CLOSE_NOWRITE); err != nil {
		t.Fatal(err)
	}
	hotfixDir, err := unpackVerified(cfg, tarball)
	if err != nil {
		t.Fatal(err)
	}
	if core, _ := os.ReadFile(filepath.Join(hotfixDir, "FileChanges/lib/Core.pm")); string(core) != "core 2\n" {
		t.Errorf("unpacked Core.pm %q, want the signed %q", core, "core 2\n")
	}
	opens := 0
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			break
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&unix.IN_OPEN != 0 {
				opens++
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
	if opens != 1 {
		t.Errorf("the tarball was opened %d times, want once: what is checked must be what is unpacked", opens)
	}
}

// openInProcess reports whether this process has a descriptor open on the file at p.
func openInProcess(t *testing.T, p string) bool {
	var want unix.Stat_t
	if err := unix.Stat(p, &want); err != nil {
		t.Error(err)
		return false
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc/self/fd", fd.Name()), &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWorldWritableTarballKeyRefused: whoever can write TARBALL_KEY picks which tarballs run
// their Install scripts as root; as root, such a key is refused before anything is unpacked.
func TestWorldWritableTarballKeyRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the rule holds only for root (tests run as root)")
	}
	cfg, signed, _, sig := raceTarballs(t)
	tarball := filepath.Join(t.TempDir(), "shop-hotfix-6.14.2.1.tar.gz")
	if err := os.WriteFile(tarball, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, sig, tarball+".sig")
	if err := os.Chmod(cfg.TarballKey, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := unpackVerified(cfg, tarball)
	want := "TARBALL_KEY " + cfg.TarballKey + " is writable by every user (owner root, group root, mode -rw-rw-rw-): hotchain runs as root and does not use a file that another user can change"
	var h interface{ Hint() string }
	if err == nil || err.Error() != want || !errors.As(err, &h) || h.Hint() != "chmod o-w "+cfg.TarballKey {
		t.Errorf("world-writable key: %v, want %q and a chmod hint", err, want)
	}
	if _, err := os.Stat(cfg.PatchesDir); !os.IsNotExist(err) {
		t.Errorf("PATCHES_DIR %s was made: %v", cfg.PatchesDir, err)
	}
	if err := os.Chmod(cfg.TarballKey, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := unpackVerified(cfg, tarball); err != nil {
		t.Errorf("0644 key: %v", err)
	}
}
