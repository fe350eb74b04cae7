package repo

import (
	"testing"

	"github.com/hotchain/hotchain/repo/rpmfile"
)

// The tests compare package entries field by field under short names.
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
