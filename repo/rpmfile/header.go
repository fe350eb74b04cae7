package rpmfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The structure of an RPM's headers is checked here, the way rpm's hdrblobRead and
// hdrblobVerifyInfo (lib/header.c) check it, before the header parser sees a byte: the
// parser trusts counts and offsets (it allocates what an index entry's count says and
// does not look at the magic), and a package that rpm refuses must not be published.

// Limits on one header, rpm's own (HEADER_TAGS_MAX, HEADER_DATA_MAX and the signature
// header's limits in hdrblobRead): a header beyond them is one rpm will not read either.
const (
	headerTagsMax = 0xffff
	headerDataMax = 0x0fffffff // 256 MiB
	sigTagsMax    = 32
	sigDataMax    = 64 << 20
)

// headerMagic starts each header: magic, version 1, four reserved bytes (rpm compares all
// eight).
var headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

// Index entry types (rpm's rpmTagType) and the alignment rpm requires of their data.
const (
	typeNull        = 0
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

// Region tags: the first entry of a header that has one points at a 16-byte trailer.
const (
	tagHeaderImage      = 61
	tagHeaderSignatures = 62
	tagHeaderImmutable  = 63
)

// errTruncated is a file that ends inside its lead or headers.
var errTruncated = errors.New("truncated: the file ends inside its header: copy or build it again")

// headerLayout is where the headers of a package are: the signature header starts at
// leadSize, the main header at hdrStart and ends at hdrEnd.
type headerLayout struct {
	hdrStart, hdrEnd int64
}

// checkIntro checks the 16 bytes that start a header and returns its index count and
// data size.
func checkIntro(b []byte, sig bool) (il, dl int64, err error) {
	name, tagsMax, dataMax := "main header", int64(headerTagsMax), int64(headerDataMax)
	if sig {
		name, tagsMax, dataMax = "signature header", sigTagsMax, sigDataMax
	}
	if !bytes.Equal(b[:8], headerMagic) {
		return 0, 0, fmt.Errorf("damaged RPM: the %s has no header magic (rpm says \"hdr magic: BAD\"): copy or build it again", name)
	}
	il = int64(binary.BigEndian.Uint32(b[8:]))
	dl = int64(binary.BigEndian.Uint32(b[12:]))
	if il < 1 || il > tagsMax {
		return 0, 0, fmt.Errorf("damaged RPM: the %s has %d entries, rpm allows 1 to %d: copy or build it again", name, il, tagsMax)
	}
	if dl > dataMax {
		return 0, 0, fmt.Errorf("damaged RPM: the %s has %d bytes of data, rpm allows %d: copy or build it again", name, dl, dataMax)
	}
	return il, dl, nil
}

// layout checks the lead and both headers at the start of data (the headers at least,
// maybe the whole package) and says where they are.
func layout(data []byte) (headerLayout, error) {
	if len(data) == 0 {
		return headerLayout{}, errors.New("empty file, not an RPM package: remove it from the repository directory or copy it again")
	}
	if !bytes.HasPrefix(data, rpmMagic[:min(len(data), 4)]) {
		return headerLayout{}, errNotRPM
	}
	off := int64(leadSize)
	var l headerLayout
	for _, sig := range []bool{true, false} {
		if int64(len(data)) < off+headerIntroSize {
			return headerLayout{}, errTruncated
		}
		il, dl, err := checkIntro(data[off:], sig)
		if err != nil {
			return headerLayout{}, err
		}
		end := off + headerIntroSize + 16*il + dl
		if int64(len(data)) < end {
			return headerLayout{}, errTruncated
		}
		if err := checkIndex(data[off+headerIntroSize:end], il, sig); err != nil {
			return headerLayout{}, err
		}
		if sig {
			// The signature header is padded to a multiple of 8 bytes.
			off = end + (8-(end-leadSize)%8)%8
			l.hdrStart = off
		} else {
			l.hdrEnd = end
		}
	}
	return l, nil
}

// typeSizes are the sizes of the fixed-size types' values; 0 for the others.
var typeSizes = [...]int64{typeNull: 0, typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8, typeBin: 1}

// checkIndex checks a header's index entries against its data (b holds both), as rpm's
// hdrblobVerifyInfo does: known types, aligned offsets, data that fits and does not
// overlap the previous entry's, strings that end inside the data.
func checkIndex(b []byte, il int64, sig bool) error {
	name := "main header"
	if sig {
		name = "signature header"
	}
	index, data := b[:16*il], b[16*il:]
	dl := int64(len(data))
	first := int64(0)
	if tag := binary.BigEndian.Uint32(index); tag == tagHeaderImage || tag == tagHeaderSignatures || tag == tagHeaderImmutable {
		// The region entry: 16 bytes of binary trailer inside the data. rpm checks it
		// apart from the other entries, whose data it may follow.
		typ, offset, count := binary.BigEndian.Uint32(index[4:]), int64(binary.BigEndian.Uint32(index[8:])), binary.BigEndian.Uint32(index[12:])
		if typ != typeBin || count != 16 || offset < 0 || offset+16 > dl {
			return fmt.Errorf("damaged RPM: the %s's region entry is out of range: copy or build it again", name)
		}
		first = 1
	}
	end := int64(0)
	for i := first; i < il; i++ {
		e := index[16*i:]
		tag := binary.BigEndian.Uint32(e)
		typ := binary.BigEndian.Uint32(e[4:])
		offset := int64(binary.BigEndian.Uint32(e[8:]))
		count := int64(binary.BigEndian.Uint32(e[12:]))
		bad := func(what string) error {
			return fmt.Errorf("damaged RPM: entry %d of the %s (tag %d) %s: copy or build it again", i+1, name, tag, what)
		}
		switch {
		case typ > typeI18NString:
			return bad(fmt.Sprintf("has unknown type %d", typ))
		case count < 1 || count > dl:
			return bad(fmt.Sprintf("has %d values in %d bytes of data", count, dl))
		case offset >= dl:
			return bad(fmt.Sprintf("points at byte %d of %d bytes of data", offset, dl))
		case offset < end:
			return bad("overlaps the previous entry's data")
		}
		var n int64
		switch typ {
		case typeString, typeStringArray, typeI18NString:
			if typ == typeString && count != 1 {
				return bad(fmt.Sprintf("is a string with %d values", count))
			}
			for k := int64(0); k < count; k++ {
				z := bytes.IndexByte(data[offset+n:], 0)
				if z < 0 {
					return bad("has a string that runs past the data")
				}
				n += int64(z) + 1
			}
		default:
			size := typeSizes[typ]
			if size > 1 && offset%size != 0 {
				return bad(fmt.Sprintf("has data at byte %d, not aligned to %d", offset, size))
			}
			n = count * size
			if n > dl-offset {
				return bad("has data that runs past the end of the header")
			}
		}
		end = offset + n
	}
	return nil
}

// readHeaderBytes reads the lead and both headers from r into b[:0] and returns them,
// checked. Memory grows with the bytes actually read, never with what a count claims: a
// short file that claims a 256 MiB header costs what it holds.
func readHeaderBytes(r io.Reader, b []byte) ([]byte, headerLayout, error) {
	b = b[:0]
	// A short read is reported as what the bytes read so far show, if they show more.
	fail := func(b []byte, err error) ([]byte, headerLayout, error) {
		if err == errTruncated {
			if _, lerr := layout(b); lerr != nil {
				err = lerr
			}
		}
		return b, headerLayout{}, err
	}
	var err error
	if b, err = readMore(r, b, leadSize+headerIntroSize); err != nil {
		return fail(b, err)
	}
	if _, err := layout(b); err != errTruncated {
		return b, headerLayout{}, err
	}
	il, dl, _ := checkIntro(b[leadSize:], true)
	sigEnd := leadSize + headerIntroSize + 16*il + dl
	hdrStart := sigEnd + (8-(sigEnd-leadSize)%8)%8
	if b, err = readMore(r, b, hdrStart+headerIntroSize); err != nil {
		return fail(b, err)
	}
	if _, err := layout(b); err != errTruncated {
		return b, headerLayout{}, err
	}
	il, dl, _ = checkIntro(b[hdrStart:], false)
	if b, err = readMore(r, b, hdrStart+headerIntroSize+16*il+dl); err != nil {
		return fail(b, err)
	}
	l, err := layout(b)
	return b, l, err
}

// readMore reads from r until b holds n bytes, growing it by at most 1 MiB ahead of what
// was read.
func readMore(r io.Reader, b []byte, n int64) ([]byte, error) {
	for int64(len(b)) < n {
		chunk := min(n-int64(len(b)), 1<<20)
		if int64(cap(b)-len(b)) < chunk {
			b = append(b, make([]byte, chunk)...)[:len(b)]
		}
		m, err := io.ReadFull(r, b[len(b):len(b)+int(chunk)])
		b = b[:len(b)+m]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return b, errTruncated
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}
