package unpack

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// swapAfterCheck replaces the tarball at its path once its signature was checked, the
// moment an attacker who can write the tarball's directory would pick.
type swapAfterCheck struct {
	t       *testing.T
	evil    []byte
	inPlace bool // rewrite the same file instead of renaming another over it
	dest    string
	ran     bool
}

var _ unpackHooks = (*swapAfterCheck)(nil)

func (s *swapAfterCheck) verified(tarPath string) {
	s.ran = true
	if s.inPlace {
		if err := os.WriteFile(tarPath, s.evil, 0o644); err != nil {
			s.t.Fatal(err)
		}
	} else {
		tmp := tarPath + ".new"
		if err := os.WriteFile(tmp, s.evil, 0o644); err != nil {
			s.t.Fatal(err)
		}
		if err := os.Rename(tmp, tarPath); err != nil {
			s.t.Fatal(err)
		}
	}
	// Nothing was written into the destination before the check.
	if entries, _ := os.ReadDir(s.dest); len(entries) != 0 {
		s.t.Errorf("the destination holds %v before the signature was checked", entries)
	}
}

// TestUnpackVerifiedTarballSwappedAfterCheck: a tarball replaced at its path (by a rename,
// or rewritten in place) after the signature check still gets the signed content unpacked,
// never the replacement.
func TestUnpackVerifiedTarballSwappedAfterCheck(t *testing.T) {
	k := tarballKey(t)
	pub := writePub(t, k)
	entries := goodEntries()
	entries[3].body = "evil\n" // FileChanges/a.txt, which the signed hotfix does not have
	evil, err := os.ReadFile(writeTarGz(t, entries))
	if err != nil {
		t.Fatal(err)
	}
	for _, inPlace := range []bool{false, true} {
		name := map[bool]string{false: "rename", true: "rewrite in place"}[inPlace]
		t.Run(name, func(t *testing.T) {
			res := buildSample(t, sampleDir(t), k)
			dest := t.TempDir()
			h := &swapAfterCheck{t: t, evil: evil, inPlace: inPlace, dest: dest}
			hooks = h
			defer func() { hooks = nil }()
			dir, err := VerifiedTarball(res.Tarball, res.Signature, pub, dest)
			if err != nil {
				t.Fatal(err)
			}
			if !h.ran {
				t.Fatal("the hook did not run: the test tests nothing")
			}
			if b, err := os.ReadFile(filepath.Join(dir, "FileChanges/a.txt")); err == nil {
				t.Errorf("the replacement was unpacked: FileChanges/a.txt %q", b)
			}
			if _, err := os.Stat(filepath.Join(dir, "FileChanges/lib/Shop/Cart.pm")); err != nil {
				t.Errorf("the signed content is not there: %v", err)
			}
			if entries, _ := os.ReadDir(dest); len(entries) != 1 {
				t.Errorf("destination holds %v, want only the hotfix directory", entries)
			}
		})
	}
}

// TestUnpackVerifiedTarballRefusalLeavesNothing: a bad signature leaves the destination as
// it was, and a PATCHES_DIR made for the unpack goes again.
func TestUnpackVerifiedTarballRefusalLeavesNothing(t *testing.T) {
	k := tarballKey(t)
	pub := writePub(t, k)
	res := buildSample(t, sampleDir(t), k)
	data, _ := os.ReadFile(res.Tarball)
	data[len(data)/2] ^= 1
	os.WriteFile(res.Tarball, data, 0o644)
	dest := filepath.Join(t.TempDir(), "Patches")
	_, err := VerifiedTarball(res.Tarball, res.Signature, pub, dest)
	var se *SignatureError
	if !errors.Is(err, ErrBadSignature) || !errors.As(err, &se) {
		t.Errorf("flipped byte: %v, want a SignatureError with ErrBadSignature", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("PATCHES_DIR left behind: %v", err)
	}
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err = VerifiedTarball(res.Tarball, res.Signature, pub, dest); err == nil {
		t.Fatal("a bad signature was accepted")
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("a refused tarball left %v", entries)
	}
}

// TestUnpackRefusesLongNames: the names the unpack keeps track of are bounded.
func TestUnpackRefusesLongNames(t *testing.T) {
	long := top + strings.Repeat("a", MaxTarballName)
	p := writeTarGz(t, append(goodEntries(), tarEntry{name: long, typ: tar.TypeReg, body: "x"}))
	dest := t.TempDir()
	if _, err := Tarball(p, dest); err == nil || !strings.Contains(err.Error(), "longer than 4096 bytes") {
		t.Errorf("name of %d bytes: %v", len(long), err)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("a refused tarball left %v", entries)
	}
}
