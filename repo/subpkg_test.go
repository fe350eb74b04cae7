package repo

import (
	"testing"

	"github.com/hotchain/hotchain/repo/compress"
	"github.com/hotchain/hotchain/repo/rpmfile"
)

// What the tests take from the sub-packages, under short names.

// pkg is a package entry, compared field by field.
type pkg = rpmfile.Package

// Where the headers of an RPM file are: the lead's size and the size of a header's intro
// (magic, index count, data size), and the index entry types the damage tests look for.
const (
	leadSize        = 96
	headerIntroSize = 16
	typeInt32       = 4
	typeString      = 6
	typeStringArray = 8
)

// RPM header tags the test packages set or remove (rpm's rpmtag.h).
const (
	tagChangeTime    = 1080
	tagChangeName    = 1081
	tagChangeText    = 1082
	tagSourceRPM     = 1044
	tagSourcePackage = 1106
)

// headerLayout is where the main header of a package starts and ends.
type headerLayout struct{ hdrStart, hdrEnd int64 }

// layout reads the package in data and says where its main header is.
func layout(t testing.TB, data []byte) headerLayout {
	t.Helper()
	p, _, err := rpmfile.ReadData(data, "x.rpm", rpmfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return headerLayout{p.HeaderStart, p.HeaderEnd}
}

// decompress decompresses a metadata file held in memory, told by its magic bytes; plain
// XML is passed through. It is bounded as old metadata is (openSizeLimit).
func decompress(data []byte) ([]byte, error) { return compress.Bytes(data, openSizeLimit) }
