package hint

import (
	"errors"
	"io/fs"
	"testing"
)

func TestWith(t *testing.T) {
	if With(nil, "x") != nil {
		t.Error("With(nil) is not nil")
	}
	err := With(fs.ErrNotExist, "create it")
	var h interface{ Hint() string }
	if !errors.As(err, &h) || h.Hint() != "create it" {
		t.Errorf("no hint found in %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != fs.ErrNotExist.Error() {
		t.Errorf("%v does not wrap fs.ErrNotExist as it is", err)
	}
}
