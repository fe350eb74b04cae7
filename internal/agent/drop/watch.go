package drop

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadInotify reads inotify events from f until it is closed: a change in the folder is a
// token on changed (one is enough), the end of a watch its descriptor on lost.
func ReadInotify(f *os.File, changed chan<- struct{}, lost chan<- int32) {
	defer close(changed)
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
				select {
				case lost <- ev.Wd:
				default:
				}
				continue
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}

// Look reports whether DROP_DIR holds a pair that a run would act on now, and how
// long until a file that is settling there may have settled (0: none is). It takes no lock
// and writes nothing.
func Look(dir, product string) (complete bool, next time.Duration) {
	pairs, err := Scan(dir, product)
	if err != nil {
		return false, 0
	}
	now := time.Now()
	for _, p := range pairs {
		why, _, wait := PairState(dir, p, now)
		if why == "" {
			complete = true
		}
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	return complete, next
}
