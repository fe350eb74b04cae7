package packaging

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cavaliergopher/rpm"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// sde is the SOURCE_DATE_EPOCH of the tests: 2026-01-02 03:04:05 UTC.
var sde = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// keyTime is when the test keys were made, before sde.
var keyTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

var (
	keysOnce sync.Once
	keys     map[sign.KeyAlgorithm]*sign.Signer
	keysErr  error
)

// testSigner is a signing key of algo, made once per test run (RSA keys are slow to make).
func testSigner(t *testing.T, algo sign.KeyAlgorithm) *sign.Signer {
	t.Helper()
	keysOnce.Do(func() {
		keys = map[sign.KeyAlgorithm]*sign.Signer{}
		for _, a := range []sign.KeyAlgorithm{sign.RSA, sign.Ed25519} {
			var s *sign.Signer
			if s, keysErr = sign.GenerateKey("Shop Hotfixes", "hotfixes@example.com", a, keyTime); keysErr != nil {
				return
			}
			keys[a] = s
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys[algo]
}

// sampleFiles is a small hotfix 6.14.2.3 with every kind of entry.
func sampleFiles() map[string]string {
	return map[string]string{
		"version.txt":                            "6.14.2.3\n",
		"fixed-bugs.txt":                         "SHOP-101 cart total rounds wrong\n\nSHOP-101: the cart total rounded half-down.\nSHOP-107: login page typo.\n",
		"install.txt":                            "Installed by hotchain apply.\n",
		"FileChanges/lib/Shop/Cart.pm":           "package Shop::Cart; # fixed\n1;\n",
		"FileChanges/bin/shopctl#0755":           "#!/bin/sh\necho fixed\n",
		"FileChanges/lib/Shop/Default.pm":        "-> Cart.pm",
		"FileChanges/empty/":                     "",
		"Install/01-migrate-shared.sh#0755":      "#!/bin/sh\necho migrate\n",
		"StoreTypeChanges/Store/layout.xml#0640": "<layout fixed=\"1\"/>\n",
	}
}

// sampleDir writes a hotfix directory (sampleFiles with overrides; "" deletes) and returns it.
func sampleDir(t *testing.T, overrides map[string]string) string {
	t.Helper()
	files := sampleFiles()
	for k, v := range overrides {
		if v == "" && !strings.HasSuffix(k, "/") {
			delete(files, k)
			continue
		}
		files[k] = v
	}
	dir := filepath.Join(t.TempDir(), "src")
	testutil.WriteTree(t, dir, files)
	return dir
}

// buildSample builds src into a new output directory with the test time and the options
// given (Product defaults to shop).
func buildSample(t *testing.T, src string, o BuildOptions) *BuildResult {
	t.Helper()
	if o.Product == "" {
		o.Product = "shop"
	}
	if o.Time.IsZero() {
		o.Time = sde
	}
	if o.OutDir == "" {
		o.OutDir = t.TempDir()
	}
	res, err := Build(src, o)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return res
}

// buildCarrying builds the sample hotfix with the file name (at the top of the hotfix
// directory) holding content, checks that the RPM holds it and that filelist.txt covers it,
// and returns the hotfix directory unpacked from the tarball.
func buildCarrying(t *testing.T, name, content string) string {
	t.Helper()
	res := buildSample(t, sampleDir(t, map[string]string{name: content}), BuildOptions{})
	inRPM := false
	for _, f := range openRPM(t, res.RPM).Files() {
		inRPM = inRPM || strings.HasSuffix(f.Name(), "/shop-hotfix-6.14.2.3/"+name)
	}
	if !inRPM {
		t.Errorf("the RPM does not hold %s", name)
	}
	dir, err := unpack.Tarball(res.Tarball, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := os.ReadFile(filepath.Join(dir, hotfix.FilelistFile))
	if !strings.Contains(string(list), "  "+name+"\n") {
		t.Errorf("filelist.txt does not cover %s:\n%s", name, list)
	}
	return dir
}

func openRPM(t *testing.T, path string) *rpm.Package {
	t.Helper()
	p, err := rpm.Open(path)
	if err != nil {
		t.Fatalf("read back %s: %v", path, err)
	}
	return p
}

// run runs a command and returns stdout and stderr; it fails the test when the command does.
func run(t *testing.T, name string, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// fakeELF is a minimal statically linked Linux executable header for machine (62 x86_64,
// 183 aarch64), enough for debug/elf; dynamic adds a PT_INTERP program header.
func fakeELF(t *testing.T, machine uint16, dynamic bool) string {
	t.Helper()
	var b bytes.Buffer
	phnum := uint16(1)
	if dynamic {
		phnum = 2
	}
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le := binary.LittleEndian
	binary.Write(&b, le, struct {
		Type, Machine              uint16
		Version                    uint32
		Entry, Phoff, Shoff        uint64
		Flags                      uint32
		Ehsize, Phentsize, Phnum   uint16
		Shentsize, Shnum, Shstrndx uint16
	}{2, machine, 1, 0x400000 + 64 + 56*uint64(phnum), 64, 0, 0, 64, 56, phnum, 64, 0, 0})
	size := uint64(64 + 56*int(phnum) + 16)
	type prog struct {
		Type, Flags                             uint32
		Off, Vaddr, Paddr, Filesz, Memsz, Align uint64
	}
	binary.Write(&b, le, prog{1, 5, 0, 0x400000, 0x400000, size, size, 0x1000})
	if dynamic {
		binary.Write(&b, le, prog{3, 4, size - 16, 0x400000 + size - 16, 0x400000 + size - 16, 16, 16, 1})
	}
	b.WriteString("/lib/ld.so.2\x00\x00\x00\x00")
	p := filepath.Join(t.TempDir(), "hotchain")
	if err := os.WriteFile(p, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, sde, sde); err != nil {
		t.Fatal(err)
	}
	return p
}
