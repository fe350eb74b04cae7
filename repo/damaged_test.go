package repo

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedHeaders: a package whose headers rpm would refuse is refused, with an error
// that names the file and says what is wrong, and the repository stays byte for byte as
// it was. Where rpm is installed, it must refuse the same packages (so that the damage is
// real, not a quirk of our reader).
func TestDamagedHeaders(t *testing.T) {
	vendor, _ := testKeys(t)
	dir := buildRepoDir(t, vendor, pkgBase, pkgFix1)
	o := testOptions(dir)
	o.Signer = vendor
	if _, err := build(t, o); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(pkgFix2.build(t, t.TempDir(), vendor))
	if err != nil {
		t.Fatal(err)
	}
	l := layout(t, good)
	sig, main := int64(leadSize), l.hdrStart
	// entry returns the offset of main header index entry i's field (0 tag, 4 type, 8
	// offset, 12 count).
	entry := func(i, field int64) int64 { return main + headerIntroSize + 16*i + field }
	put32 := func(b []byte, off int64, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }

	tests := []struct {
		name    string
		damage  func(b []byte)
		wantErr []string
	}{
		{"signature header magic zeroed", func(b []byte) { copy(b[sig:], make([]byte, 8)) },
			[]string{"signature header has no header magic", `hdr magic: BAD`}},
		{"main header magic zeroed", func(b []byte) { copy(b[main:], make([]byte, 8)) },
			[]string{"main header has no header magic"}},
		{"too many index entries", func(b []byte) { put32(b, main+8, 0x10000) },
			[]string{"main header has 65536 entries, rpm allows 1 to 65535"}},
		{"signature header too large", func(b []byte) { put32(b, sig+12, 64<<20+1) },
			[]string{"signature header has 67108865 bytes of data, rpm allows 67108864"}},
		{"entry offset out of range", func(b []byte) { put32(b, entry(1, 8), 107313) },
			[]string{"entry 2 of the main header", "points at byte 107313 of"}},
		{"entry with a huge count", func(b []byte) {
			// The first int32 entry claims 2^31 values: a parser that allocates what the
			// count says asks for 16 GiB.
			for i := int64(1); ; i++ {
				if binary.BigEndian.Uint32(b[entry(i, 4):]) == typeInt32 {
					put32(b, entry(i, 12), 1<<31)
					return
				}
			}
		}, []string{"values in", "bytes of data"}},
		{"unknown entry type", func(b []byte) { put32(b, entry(1, 4), 77) },
			[]string{"entry 2 of the main header", "unknown type 77"}},
		{"unterminated string", func(b []byte) {
			il := int64(binary.BigEndian.Uint32(b[main+8:]))
			dl := int64(binary.BigEndian.Uint32(b[main+12:]))
			data := main + headerIntroSize + 16*il
			// The last entry's data runs to the end of the store: make its last byte
			// something other than the NUL that ends the string.
			for i := il - 1; i > 0; i-- {
				if typ := binary.BigEndian.Uint32(b[entry(i, 4):]); typ == typeString || typ == typeStringArray {
					put32(b, entry(i, 8), uint32(dl-1))
					b[data+dl-1] = 'x'
					return
				}
			}
		}, []string{"of the main header", "string that runs past the data"}},
	}
	fix2 := filepath.Join(dir, pkgFix2.fileName())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer os.Remove(fix2)
			b := append([]byte(nil), good...)
			tt.damage(b)
			if err := os.WriteFile(fix2, b, 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, err := build(t, o)
			if err == nil {
				t.Fatal("damaged package published")
			}
			want := tt.wantErr
			if rpmTool, lerr := exec.LookPath("rpm"); lerr == nil {
				out, rerr := exec.Command(rpmTool, "-qp", "--nosignature", "--nodigest", fix2).CombinedOutput()
				if rerr == nil {
					t.Errorf("rpm reads the damaged package: the test damages nothing rpm checks\n%s", out)
				}
				if len(want) > 1 && strings.HasPrefix(want[1], "hdr magic") {
					if !strings.Contains(string(out), want[1]) {
						t.Errorf("rpm -qp says %q, want %q", out, want[1])
					}
				}
			}
			if len(want) > 1 && strings.HasPrefix(want[1], "hdr magic") {
				want = want[:1]
			}
			for _, w := range append(want, pkgFix2.fileName(), "copy or build it again") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "%!") {
				t.Errorf("error %q has a formatting fault", err)
			}
			sameSnapshot(t, before, snapshot(t, dir))
		})
	}
}
