package compress

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os/exec"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"
)

// xzBlockHeaders finds the block headers of an xz file by their CRC32.
func xzBlockHeaders(data []byte) []int {
	var at []int
	for i := 12; i < len(data)-8; i++ {
		size := (int(data[i]) + 1) * 4
		if data[i] == 0 || i+size > len(data) || data[i+1]&3 != 0 {
			continue
		}
		if crc32.ChecksumIEEE(data[i:i+size-4]) == binary.LittleEndian.Uint32(data[i+size-4:]) {
			at = append(at, i)
		}
	}
	return at
}

// TestXZBlocks: an xz file of several blocks, as the real xz writes it with
// --block-size, is read whole, each block's check verified; a later block that asks for a
// dictionary over the limit, or whose content does not match its check, is refused.
func TestXZBlocks(t *testing.T) {
	xzCmd := testutil.RequireTool(t, "xz")
	var plain strings.Builder
	plain.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"0\">\n")
	plain.WriteString("</otherdata>\n")
	for i := 0; plain.Len() < 300<<10; i++ {
		plain.WriteString("<!-- line " + strings.Repeat("x", i%97) + " -->\n")
	}
	for _, check := range []string{"crc32", "crc64", "sha256", "none"} {
		cmd := exec.Command(xzCmd, "-c", "--block-size=65536", "--check="+check)
		cmd.Stdin = strings.NewReader(plain.String())
		data, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		blocks := xzBlockHeaders(data)
		if len(blocks) < 3 {
			t.Fatalf("xz --block-size wrote %d blocks, want several", len(blocks))
		}
		got, err := Bytes(data, MaxSize)
		if err != nil || string(got) != plain.String() {
			t.Fatalf("--check=%s: %d bytes, %v; want the %d bytes written", check, len(got), err, plain.Len())
		}
		if check != "none" {
			// The first block's check ends where the second block's header starts.
			bad := bytes.Clone(data)
			bad[blocks[1]-1] ^= 1
			if _, err := Bytes(bad, MaxSize); err == nil || !strings.Contains(err.Error(), "check does not match") {
				t.Errorf("--check=%s, first block's check changed: %v", check, err)
			}
		}
		// The second block asks for 1.5 GiB.
		huge := bytes.Clone(data)
		h := blocks[1]
		size := (int(huge[h]) + 1) * 4
		j := bytes.Index(huge[h:h+size], []byte{0x21, 0x01})
		huge[h+j+2] = 37
		binary.LittleEndian.PutUint32(huge[h+size-4:], crc32.ChecksumIEEE(huge[h:h+size-4]))
		if _, err := Bytes(huge, MaxSize); err == nil || !strings.Contains(err.Error(), "1536 MiB dictionary") {
			t.Errorf("--check=%s, second block asking for 1.5 GiB: %v", check, err)
		}
	}
}
