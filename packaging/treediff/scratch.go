package treediff

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A diff works in two directories of its own: the work directory beside -out
// (".OUT.hotchain-diff-*") and the self-check's scratch in a tmpfs ("hotchain-diff-*").
// A refused, failed or interrupted diff removes them; one that was killed cannot. So each
// holds an exclusive flock on its directories while it runs, and a diff removes at its start
// what a killed one left: its own -out's work directories, and scratch directories in the
// tmpfs that are ours and older than staleScratch. A directory under a lock is a live diff's
// and is left, like fileops.CleanUnpacks leaves what a live unpack holds.

const (
	scratchPrefix = "hotchain-diff-"
	// staleWork and staleScratch are how old a left directory must be before it is taken
	// for stale: a diff locks its directory right after it makes it, and the scratch of
	// another user's -out is not ours to judge by the lock alone.
	staleWork    = time.Minute
	staleScratch = time.Hour
)

// workPrefix is the name prefix of -out's work directories (in the directory of out).
func workPrefix(out string) string { return "." + filepath.Base(out) + "." + scratchPrefix }

// holdDir takes an exclusive flock on the directory p for as long as the returned release
// is not called: cleanStale leaves a held directory.
func holdDir(p string) (release func(), err error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "lock", Path: p, Err: err}
	}
	return func() { unix.Close(fd) }, nil
}

// cleanStale removes the directories in dir whose names start with prefix, that this user
// owns, that were last modified before olderThan and that no running diff holds (holdDir),
// and returns them. What it cannot judge or remove it leaves.
func cleanStale(dir, prefix string, olderThan time.Time) []string {
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	var removed []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && removeStale(filepath.Join(dir, n), olderThan) {
			removed = append(removed, filepath.Join(dir, n))
		}
	}
	return removed
}

func removeStale(p string, olderThan time.Time) bool {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false // gone, or a file or symlink under that name: not ours
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Uid != uint32(os.Geteuid()) || !time.Unix(st.Mtim.Unix()).Before(olderThan) {
		return false
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false // a live diff's
	}
	// Still the directory under that name.
	var cur unix.Stat_t
	if err := unix.Lstat(p, &cur); err != nil || cur.Dev != st.Dev || cur.Ino != st.Ino {
		return false
	}
	return os.RemoveAll(p) == nil
}

// scratchRoots are where the self-check's scratch may lie (scratchDir).
func scratchRoots() []string {
	var roots []string
	for _, d := range []string{os.Getenv("TMPDIR"), "/dev/shm"} {
		if d != "" {
			roots = append(roots, d)
		}
	}
	return roots
}
