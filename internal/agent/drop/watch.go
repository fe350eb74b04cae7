package drop

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadInotify reads inotify events from f until it is closed: a change in the folder to a
// name that may be product's archive or signature (Classify; not a transfer tool's
// temporary name) is a token on changed (one is enough), the end of a watch its descriptor
// on lost.
func ReadInotify(f *os.File, product string, changed chan<- struct{}, lost chan<- int32) {
	defer close(changed)
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			start := off + unix.SizeofInotifyEvent
			off = start + int(ev.Len)
			if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
				select {
				case lost <- ev.Wd:
				default:
				}
				continue
			}
			if ev.Len > 0 && off <= n {
				name := strings.TrimRight(string(buf[start:off]), "\x00")
				if !Watched(product, name) {
					continue
				}
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}

// Watched reports whether an event on name in the folder may change what a run does:
// not for a name of another product, nor a copy in progress.
func Watched(product, name string) bool { return Classify(product, name).Archive != "" }

// Look reports which pairs of DROP_DIR a run would act on now (complete: their files'
// names, devices, inodes and ctimes, "" when none), and how long until a file that is
// settling there may have settled (0: none is). It takes no lock and writes nothing.
func Look(dir, product string) (complete string, next time.Duration) {
	pairs, err := Scan(dir, product)
	if err != nil {
		return "", 0
	}
	var b strings.Builder
	now := time.Now()
	for _, p := range pairs {
		why, _, wait := PairState(dir, p, now)
		if why == "" {
			for _, f := range []*File{p.ArchiveFile, p.SigFile} {
				if f == nil {
					continue
				}
				fmt.Fprintf(&b, "%q", f.Name)
				if st, ok := f.Info.Sys().(*syscall.Stat_t); ok {
					fmt.Fprintf(&b, " %d %d %d.%d", st.Dev, st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
				}
				b.WriteByte('\n')
			}
		}
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	return b.String(), next
}

// RunGap is the least time between two runs the daemon starts for the folder: six settle
// times, a minute.
func RunGap() time.Duration { return 6 * Settle }

// Watcher decides when -daemon starts a run for the folder: when Look finds complete pairs
// that differ from those the last run left there (a run that refused or left a pair does
// not start again until something changes), and at most one run a RunGap, but for the
// first.
type Watcher struct {
	left    string // Look after the last run
	lastRun time.Time
	ran     bool
}

// Decide says whether to start a run now for what Look found (complete), or else how long
// to wait before looking again (0: until the next event).
func (w *Watcher) Decide(complete string, now time.Time) (run bool, wait time.Duration) {
	if complete == "" || complete == w.left {
		return false, 0
	}
	if w.ran {
		if gap := RunGap() - now.Sub(w.lastRun); gap > 0 {
			return false, gap
		}
	}
	return true, 0
}

// Ran notes a run that started at start and left what Look finds now (left; "" when the
// run did not get to the folder, another run holding its lock: it is tried again).
func (w *Watcher) Ran(start time.Time, left string) {
	w.ran, w.lastRun, w.left = true, start, left
}
