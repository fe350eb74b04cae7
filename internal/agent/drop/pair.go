package drop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/hotchain/hotchain/hotfix"
)

// PairState says why the pair p cannot be taken now ("" when it can), whether that has
// lasted more than dropStale, and how long until its files may have settled.
func PairState(dir string, p *Pair, now time.Time) (why string, stale bool, wait time.Duration) {
	present := slices.DeleteFunc([]*File{p.ArchiveFile, p.SigFile}, func(f *File) bool { return f == nil })
	for _, f := range present {
		if !f.Info.Mode().IsRegular() {
			if p.Bad == "" {
				p.Bad = fmt.Sprintf("%s is a %s, not a regular file: copy the file itself into the drop folder", f.Name, hotfix.KindOf(f.Info.Mode()))
			}
			return "", false, 0
		}
	}
	// A name that can never be taken is refused once its files are complete, pair or not.
	if p.Bad == "" {
		switch {
		case p.ArchiveFile == nil && p.DirInstead:
			return p.Shown() + " is a directory, not the archive: remove it and copy the archive itself", p.SigFile != nil && now.Sub(ChangedAt(p.SigFile)) > Stale, 0
		case p.ArchiveFile == nil && p.SigFile == nil:
			return "", false, 0
		case p.ArchiveFile == nil:
			return "waits for its archive " + p.Shown() + " (copy the archive first, then its .sig)", now.Sub(ChangedAt(p.SigFile)) > Stale, 0
		case p.SigFile == nil:
			return "waits for its signature " + hotfix.ShownName(p.Archive+".sig"), now.Sub(ChangedAt(p.ArchiveFile)) > Stale, 0
		}
	}
	for _, f := range present {
		if ok, why, w := Settled(dir, f, now, Settle); !ok {
			return f.Name + " is not complete yet (" + why + ")", false, w
		}
	}
	return "", false, 0
}

// ChangedAt is when the file last changed (its ctime): when it arrived in the folder, for a
// copy that kept the source's mtime.
func ChangedAt(f *File) time.Time {
	if st, ok := f.Info.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return f.Info.ModTime()
}

// Retry reports whether err is the host's trouble, not the dropped file's: a full or
// read-only disk, an I/O error, no memory or descriptors, a stopped run. The pair stays.
func Retry(err error) bool {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO, syscall.ENOMEM, syscall.EMFILE, syscall.ENFILE, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// ReasonText is what refused/NAME.reason says: what was wrong and what to do.
func ReasonText(host, archive, reason, hint string) string {
	return fmt.Sprintf("%s was refused by hotchain agent on %s at %s:\n%s\nhint: %s\n",
		archive, host, time.Now().UTC().Format(time.RFC3339), reason, hint)
}
