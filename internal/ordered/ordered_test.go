package ordered

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestInOrder(t *testing.T) {
	var got []int
	err := InOrder(50, 4, func(i int) error {
		time.Sleep(time.Duration(50-i) * 50 * time.Microsecond) // later pieces finish first
		return nil
	}, func(i int) { got = append(got, i) })
	if err != nil || len(got) != 50 {
		t.Fatalf("%v, %d done", err, len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("done in order %v", got)
		}
	}
}

// The first error in order of i ends InOrder: pieces after it are not reported done, and
// no new piece starts once it stopped.
func TestInOrderStopsAtFirstError(t *testing.T) {
	bad := errors.New("piece 7 failed")
	var ran atomic.Int64
	var done []int
	err := InOrder(1000, 2, func(i int) error {
		ran.Add(1)
		switch {
		case i == 7:
			return bad
		case i > 7:
			time.Sleep(time.Millisecond)
		}
		return nil
	}, func(i int) { done = append(done, i) })
	if !errors.Is(err, bad) || len(done) != 7 {
		t.Errorf("err %v, done %v", err, done)
	}
	if n := ran.Load(); n > 500 {
		t.Errorf("%d pieces ran after the error at piece 7", n)
	}
}

// Stop lets the running piece finish and marks the ones that never ran.
func TestStopMarksUnrunPieces(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	p := Start(10, 1, func(i int) error {
		close(started)
		<-release
		return nil
	})
	<-started
	p.stop.Store(true) // as Stop does first, while piece 0 runs
	close(release)
	p.Stop()
	p.Stop()
	if err := p.Wait(0); err != nil {
		t.Errorf("piece 0: %v", err)
	}
	for i := 1; i < 10; i++ {
		if err := p.Wait(i); !errors.Is(err, ErrStopped) {
			t.Errorf("piece %d: %v, want ErrStopped", i, err)
		}
	}
}

func TestZeroPieces(t *testing.T) {
	if err := InOrder(0, 4, func(int) error { panic("ran") }, func(int) { panic("done") }); err != nil {
		t.Fatal(err)
	}
}
