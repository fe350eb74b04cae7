package applier

import (
	"errors"
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"
)

// TestInOrder: the work runs on several goroutines, but what the journal's users see (the
// steps) comes in order, and the first failure in that order ends it.
func TestInOrder(t *testing.T) {
	const n = 200
	for _, failAt := range []int{-1, 0, 57, n - 1} {
		t.Run(fmt.Sprint("fail at ", failAt), func(t *testing.T) {
			var running, most atomic.Int32
			var seen []int
			errBoom := errors.New("boom")
			err := inOrder(n, func(i int) error {
				r := running.Add(1)
				defer running.Add(-1)
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
				time.Sleep(time.Duration(rand.Intn(200)) * time.Microsecond)
				if i == failAt {
					return fmt.Errorf("entry %d: %w", i, errBoom)
				}
				return nil
			}, func(i int) { seen = append(seen, i) })
			want := n
			if failAt >= 0 {
				want = failAt
				if !errors.Is(err, errBoom) {
					t.Fatalf("err = %v, want the failure of entry %d", err, failAt)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(seen) != want {
				t.Fatalf("done was called for %d entries, want %d", len(seen), want)
			}
			for i, v := range seen {
				if v != i {
					t.Fatalf("done called for %d in place %d", v, i)
				}
			}
			if running.Load() != 0 {
				t.Error("work still running after inOrder returned")
			}
			if fileWorkers > 1 && failAt < 0 && most.Load() < 2 {
				t.Errorf("at most %d entries at once, want up to %d", most.Load(), fileWorkers)
			}
		})
	}
}
