package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/google/rpmpack"
	"github.com/klauspost/pgzip"
)

// payloadInfo is what the headers say about a payload writePayload wrote.
type payloadInfo struct {
	archive    int64    // the uncompressed cpio archive's size
	compressed int64    // the payload's size
	sha256     string   // hex SHA-256 of the compressed payload
	installed  int64    // the files' contents (RPMTAG_SIZE, as rpmpack counts it)
	sizes      []uint32 // RPMTAG_FILESIZES, in the order of files
	digests    []string // RPMTAG_FILEDIGESTS (SHA-256), in the order of files
}

// writePayload writes the gzip-compressed cpio archive of files (sorted, as rpmpack
// sorts them) to w, exactly as rpmpack would: the same cpio writer, headers, modes and
// link counts. Regular files on disk are read once, streamed, and must still have the
// SHA-256 they were listed with.
func writePayload(w io.Writer, files []pkgFile) (*payloadInfo, error) {
	pl := &payloadInfo{sizes: make([]uint32, len(files)), digests: make([]string, len(files))}
	sum := sha256.New()
	compressed := new(countingWriter)
	zw, err := newGzipWriter(io.MultiWriter(w, sum, compressed))
	if err != nil {
		return nil, err
	}
	archive := new(countingWriter)
	cw := cpio.NewWriter(io.MultiWriter(zw, archive))
	fileSum := sha256.New()
	buf := make([]byte, copyBufferSize)
	for i, f := range files {
		mode, links := f.Mode, 1
		switch {
		case mode&040000 != 0:
			links = 2
			pl.sizes[i] = 4096
		case mode&0120000 == 0120000:
			pl.sizes[i] = uint32(len(f.Body))
		default:
			mode |= 0100000
			pl.sizes[i] = uint32(f.contentSize())
			if f.src != "" {
				pl.digests[i] = f.sha256
			} else {
				d := sha256.Sum256(f.Body)
				pl.digests[i] = hex.EncodeToString(d[:])
			}
		}
		if f.Type&rpmpack.GhostFile != 0 {
			continue // listed, not in the payload
		}
		if err := cw.WriteHeader(&cpio.Header{Name: f.Name, Mode: cpio.FileMode(mode), Size: f.contentSize(), Links: links}); err != nil {
			return nil, fmt.Errorf("write payload: %w", err)
		}
		if f.src != "" {
			if err := copyChecked(cw, f.src, f.size, f.sha256, fileSum, buf); err != nil {
				return nil, err
			}
		} else if _, err := cw.Write(f.Body); err != nil {
			return nil, fmt.Errorf("write payload: %w", err)
		}
		pl.installed += f.contentSize()
	}
	if err := cw.Close(); err != nil {
		return nil, fmt.Errorf("write payload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("write payload: %w", err)
	}
	pl.archive = int64(*archive)
	pl.compressed = int64(*compressed)
	pl.sha256 = hex.EncodeToString(sum.Sum(nil))
	return pl, nil
}

// newGzipWriter compresses at gzipLevel on every core (klauspost/pgzip, as rpmpack does):
// the stream is cut into blocks compressed in parallel, each with the previous block's
// tail as its dictionary, so the output is the same whatever the scheduling. The header
// carries no name and a zero time, so the same input gives the same bytes.
//
// Blocks are 256 KiB, not pgzip's 1 MiB: a quarter of the memory in flight (pgzip keeps
// a pool of block buffers; 1 MiB blocks held 27 MB while building a 50 MB hotfix), and
// faster too (on 50 MB of hotfix-like text, 0.28 s instead of 0.36 s on two cores), for
// output 0.2% larger.
func newGzipWriter(w io.Writer) (*pgzip.Writer, error) {
	zw, err := pgzip.NewWriterLevel(w, gzipLevel)
	if err != nil {
		return nil, err
	}
	if err := zw.SetConcurrency(256<<10, min(runtime.GOMAXPROCS(0), 8)); err != nil {
		return nil, err
	}
	// pgzip writes the low 32 bits of ModTime.Unix() even for the zero time.
	zw.ModTime = time.Unix(0, 0)
	return zw, nil
}

// copyBufferSize is the buffer each stream of a build copies files through.
const copyBufferSize = 128 << 10

// copyChecked copies the file src, which must be size bytes with the SHA-256 want, to w,
// through buf (one per stream: a buffer per file would be garbage the size of the hotfix).
// The check is what ties the package to filelist.txt: a file that changed after it was
// listed fails the build instead of shipping content nobody checked.
func copyChecked(w io.Writer, src string, size int64, want string, h hash.Hash, buf []byte) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("read hotfix file: %w", err)
	}
	defer f.Close()
	h.Reset()
	// Hide the file's WriteTo, which would copy through a buffer of its own.
	r := struct{ io.Reader }{io.LimitReader(f, size)}
	n, err := io.CopyBuffer(io.MultiWriter(w, h), r, buf)
	if err != nil {
		return fmt.Errorf("read hotfix file %s: %w", src, err)
	}
	if more, _ := f.Read(buf[:1]); n < size || more > 0 || hex.EncodeToString(h.Sum(nil)) != want {
		return fmt.Errorf("%s changed while the hotfix was being built: build again once nothing writes to the directory", src)
	}
	return nil
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
