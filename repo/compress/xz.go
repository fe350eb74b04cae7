package compress

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// xzReader decompresses the first stream of an xz file (what xz and createrepo_c write:
// one stream of LZMA2 blocks). The container is parsed here and each block's LZMA2 data
// handed to ulikunitz/xz/lzma, because the decoder allocates the dictionary a block header
// asks for (up to 4 GiB) before it decodes anything: every block's dictionary is checked
// against maxWindow first. Each block's check (CRC32, CRC64 or SHA-256) is verified; the
// index after the blocks is not read (repomd.xml's checksum covers the whole file).
type xzReader struct {
	r         *countingByteReader
	checkSize int
	newCheck  func() hash.Hash
	block     io.Reader // the current block's LZMA2 data; nil between blocks
	sum       hash.Hash // of the current block's output
	start     int64     // where the current block header started
	done      bool      // the index was reached
}

type countingByteReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingByteReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

var errXZDamaged = errors.New("xz: damaged file")

func newXZReader(br *bufio.Reader) (*xzReader, error) {
	x := &xzReader{r: &countingByteReader{r: br}}
	var h [12]byte
	if _, err := io.ReadFull(x.r, h[:]); err != nil {
		return nil, errXZDamaged
	}
	if h[6] != 0 || crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:]) {
		return nil, fmt.Errorf("xz: damaged stream header")
	}
	switch h[7] {
	case 0:
	case 1:
		x.checkSize, x.newCheck = 4, func() hash.Hash { return crc32.NewIEEE() }
	case 4:
		x.checkSize, x.newCheck = 8, func() hash.Hash { return crc64.New(crc64.MakeTable(crc64.ECMA)) }
	case 10:
		x.checkSize, x.newCheck = 32, sha256.New
	default:
		return nil, fmt.Errorf("xz: unsupported check type %d", h[7])
	}
	return x, nil
}

func (x *xzReader) Read(p []byte) (int, error) {
	for {
		if x.done {
			return 0, io.EOF
		}
		if x.block == nil {
			if err := x.nextBlock(); err != nil {
				return 0, err
			}
			continue
		}
		n, err := x.block.Read(p)
		if x.sum != nil {
			x.sum.Write(p[:n])
		}
		if err == io.EOF {
			if err := x.endBlock(); err != nil {
				return n, err
			}
			if n == 0 {
				continue
			}
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("xz: %w", err)
		}
		return n, nil
	}
}

// nextBlock reads a block header, or the index indicator that follows the last block.
func (x *xzReader) nextBlock() error {
	x.start = x.r.n
	b, err := x.r.ReadByte()
	if err != nil {
		return errXZDamaged
	}
	if b == 0 {
		x.done = true
		return nil
	}
	hdr := make([]byte, (int(b)+1)*4)
	hdr[0] = b
	if _, err := io.ReadFull(x.r, hdr[1:]); err != nil {
		return errXZDamaged
	}
	size := len(hdr)
	if crc32.ChecksumIEEE(hdr[:size-4]) != binary.LittleEndian.Uint32(hdr[size-4:]) {
		return fmt.Errorf("xz: damaged block header")
	}
	dict, err := xzBlockDict(hdr[1 : size-4])
	if err != nil {
		return err
	}
	if x.block, err = (lzma.Reader2Config{DictCap: dict}).NewReader2(x.r); err != nil {
		return fmt.Errorf("xz: %w", err)
	}
	if x.newCheck != nil {
		x.sum = x.newCheck()
	}
	return nil
}

// xzBlockDict is the dictionary size of a block whose header (without its size byte and
// CRC) is b: the one filter must be LZMA2, whose one property byte gives it.
func xzBlockDict(b []byte) (int, error) {
	flags := b[0]
	b = b[1:]
	if flags&3 != 0 || flags&0x3c != 0 {
		return 0, fmt.Errorf("xz: a block with filters other than LZMA2 alone")
	}
	for _, bit := range []byte{0x40, 0x80} { // compressed and uncompressed sizes
		if flags&bit != 0 {
			_, n := binary.Uvarint(b)
			if n <= 0 {
				return 0, fmt.Errorf("xz: damaged block header")
			}
			b = b[n:]
		}
	}
	if len(b) < 3 || b[0] != 0x21 || b[1] != 1 {
		return 0, fmt.Errorf("xz: a block with filters other than LZMA2 alone")
	}
	p := b[2]
	if p > 40 {
		return 0, fmt.Errorf("xz: damaged block header")
	}
	dict := uint64(2|p&1) << (p/2 + 11)
	if p == 40 {
		dict = 1<<32 - 1
	}
	if dict > maxWindow {
		return 0, fmt.Errorf("xz: asks for a %d MiB dictionary, more than the %d MiB allowed", dict>>20, maxWindow>>20)
	}
	return int(dict), nil
}

// endBlock reads the padding and the check after a block's LZMA2 data.
func (x *xzReader) endBlock() error {
	x.block = nil
	pad := int((4 - (x.r.n-x.start)%4) % 4)
	tail := make([]byte, pad+x.checkSize)
	if _, err := io.ReadFull(x.r, tail); err != nil {
		return errXZDamaged
	}
	if !bytes.Equal(tail[:pad], make([]byte, pad)) {
		return fmt.Errorf("xz: damaged block padding")
	}
	if x.sum != nil {
		got := x.sum.Sum(nil)
		if x.checkSize == 4 || x.checkSize == 8 {
			// CRC32 and CRC64 are stored little-endian; hash.Hash gives big-endian.
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
		}
		if !bytes.Equal(got, tail[pad:]) {
			return fmt.Errorf("xz: a block's check does not match its content")
		}
	}
	return nil
}
