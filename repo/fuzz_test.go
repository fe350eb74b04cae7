package repo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/hotchain/hotchain/repo/compress"
	"github.com/hotchain/hotchain/repo/rpmmd"
)

// readOldFile runs the reader of old metadata over data, a file named with ext holding
// the root element root (metadata, filelists or otherdata), as Build does when it reuses
// it: every element taken apart and checked, then the rest and the checksum.
func readOldFile(data []byte, ext, root string) error {
	sum := sha256.Sum256(data)
	l := location{href: "repodata/" + hex.EncodeToString(sum[:]) + "-primary" + ext, sha256: hex.EncodeToString(sum[:])}
	s, err := newOldStream(io.NopCloser(bytes.NewReader(data)), l, root)
	if err != nil {
		return err
	}
	defer s.close()
	if root == "metadata" {
		return (&oldMetadata{}).readPrimary(s)
	}
	for {
		c, err := s.next()
		if err == io.EOF {
			return s.finish()
		}
		if err != nil {
			return err
		}
		if _, err := packageKey(c); err != nil {
			return err
		}
		if err := rpmmd.CheckElement(c); err != nil {
			return err
		}
	}
}

var fuzzExts = []string{".xml.gz", ".xml.zst", ".xml.xz", ".xml.bz2", ".xml"}
var fuzzRoots = []string{"metadata", "filelists", "otherdata"}

func compressAs(t testing.TB, ext string, plain []byte) []byte {
	var buf bytes.Buffer
	switch ext {
	case ".xml":
		return plain
	case ".xml.gz":
		zw := gzip.NewWriter(&buf)
		zw.Write(plain)
		zw.Close()
	case ".xml.zst":
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(plain)
		zw.Close()
	case ".xml.xz":
		zw, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(plain)
		zw.Close()
	case ".xml.bz2":
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(plain)
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("bzip2: %v", err)
		}
		return out
	}
	return buf.Bytes()
}

// FuzzOldMetadata feeds the reader of old metadata hostile files in every compression: it
// must return an error or accept, never panic, and stay within its bounds (the fuzz run
// lowers the decompressed limit to 8 MiB to keep each input quick). The seeds are the
// metadata Build writes for the test packages.
func FuzzOldMetadata(f *testing.F) {
	openSizeLimit = 8 << 20
	f.Cleanup(func() { openSizeLimit = compress.MaxSize })
	dir := buildRepoDir(f, nil, testPkgs...)
	if _, err := Build(f.Context(), testOptions(dir)); err != nil {
		f.Fatal(err)
	}
	repomd, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	locs, _ := metadataLocations(repomd)
	for r, typ := range []string{"primary", "filelists", "other"} {
		data, _ := os.ReadFile(filepath.Join(dir, locs[typ].href))
		plain, err := decompress(data)
		if err != nil {
			f.Fatal(err)
		}
		for e, ext := range fuzzExts {
			if _, err := exec.LookPath("bzip2"); err != nil && ext == ".xml.bz2" {
				continue
			}
			f.Add(compressAs(f, ext, plain), uint8(e), uint8(r))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, ext, root uint8) {
		e, r := fuzzExts[int(ext)%len(fuzzExts)], fuzzRoots[int(root)%len(fuzzRoots)]
		readOldFile(data, e, r)
	})
}

// TestOldMetadataBounds: a file that decompresses to more than the limit, and a single
// element longer than its limit, are refused with a message that says so; a file of
// exactly the limit is read.
func TestOldMetadataBounds(t *testing.T) {
	openSizeLimit = 1 << 20
	defer func() { openSizeLimit = compress.MaxSize }()
	head := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	root := "<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"0\">\n</otherdata>\n"
	pad := 1<<20 - len(head) - len(root)
	exact := head + "<!--" + strings.Repeat(" ", pad-8) + "-->\n" + root
	for _, ext := range []string{".xml.gz", ".xml.zst", ".xml.xz", ".xml"} {
		if err := readOldFile(compressAs(t, ext, []byte(exact)), ext, "otherdata"); err != nil {
			t.Errorf("%s of exactly the limit: %v", ext, err)
		}
		over := exact + " "
		err := readOldFile(compressAs(t, ext, []byte(over)), ext, "otherdata")
		if err == nil || !strings.Contains(err.Error(), "decompresses to more than 1024 MiB") {
			t.Errorf("%s one byte over the limit: %v", ext, err)
		}
	}
	// An xz file that asks for a 1.5 GiB dictionary is refused before anything is allocated.
	// (Made by patching the block header of a small file: the writer would need the
	// dictionary too.)
	small := compressAs(t, ".xml.xz", []byte(head+root))
	size := (int(small[12]) + 1) * 4
	block := small[12 : 12+size]
	i := bytes.Index(block, []byte{0x21, 0x01})
	if block[1]&0xc0 != 0 || i != 2 {
		t.Fatalf("unexpected xz block header % x", block)
	}
	block[4] = 37 // 3 << 29 bytes: 1.5 GiB
	binary.LittleEndian.PutUint32(block[size-4:], crc32.ChecksumIEEE(block[:size-4]))
	if err := readOldFile(small, ".xml.xz", "otherdata"); err == nil || !strings.Contains(err.Error(), "1536 MiB dictionary") {
		t.Errorf("xz with a 1.5 GiB dictionary: %v", err)
	}
}
