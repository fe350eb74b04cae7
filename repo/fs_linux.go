package repo

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// exchange swaps the directories newDir and cur in one step (renameat2 RENAME_EXCHANGE):
// a client never finds repodata missing. File systems without it get two renames.
func exchange(newDir, cur string) error {
	err := unix.Renameat2(unix.AT_FDCWD, newDir, unix.AT_FDCWD, cur, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return exchangeByRenames(newDir, cur)
	}
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: newDir, New: cur, Err: err}
	}
	return nil
}
