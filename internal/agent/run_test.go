package agent

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestRandomWaitBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 60, 1440} {
		lo, hi := time.Duration(n)*time.Minute, time.Duration(0)
		for i := 0; i < 5000; i++ {
			d := randomWait(n, rng.Int64N)
			if d < time.Minute || d > time.Duration(n)*time.Minute {
				t.Fatalf("RANDOMWAIT=%d: wait %s outside 1..%d minutes", n, d, n)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// Uniform over the whole window: both ends are reached (within 1%).
		span := time.Duration(n-1) * time.Minute
		if lo > time.Minute+span/100 || hi < time.Duration(n)*time.Minute-span/100 {
			t.Errorf("RANDOMWAIT=%d: 5000 waits spread only over %s..%s", n, lo, hi)
		}
	}
	if d := randomWait(0, func(int64) int64 { panic("no draw for RANDOMWAIT=0") }); d != 0 {
		t.Errorf("RANDOMWAIT=0 waits %s", d)
	}
}
