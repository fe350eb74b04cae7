// Package ordered runs numbered pieces of work on several goroutines and lets the caller take
// their results in order of number, each as soon as it and all before it are done: the
// applier places files in parallel but reports and journals them in a fixed order, and
// `hotchain repo` reads packages on every core while it writes the metadata in the order of
// the package list. It imports only the standard library.
package ordered

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrStopped is what Wait returns for a piece that never ran because Stop came first.
var ErrStopped = errors.New("stopped before it ran")

// Pool runs do(i) for i in [0, n).
type Pool struct {
	do   func(i int) error
	n    int
	errs []error
	done []chan struct{}
	next atomic.Int64
	stop atomic.Bool
	wg   sync.WaitGroup
	once sync.Once
}

// Start runs do(i) for every i in [0, n) on up to workers goroutines, taking the pieces in
// order of i.
func Start(n, workers int, do func(i int) error) *Pool {
	p := &Pool{do: do, n: n, errs: make([]error, n), done: make([]chan struct{}, n)}
	for i := range p.done {
		p.done[i] = make(chan struct{})
	}
	for w := 0; w < min(max(workers, 1), n); w++ {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.wg.Done()
	for !p.stop.Load() {
		i := int(p.next.Add(1)) - 1
		if i >= p.n {
			return
		}
		p.errs[i] = p.do(i)
		close(p.done[i])
	}
}

// Wait waits until piece i is done and returns its error.
func (p *Pool) Wait(i int) error {
	<-p.done[i]
	return p.errs[i]
}

// Stop lets the running pieces finish, runs no new one, and waits for the workers; Wait
// then returns ErrStopped for the pieces that never ran. It is safe to call more than once.
func (p *Pool) Stop() {
	p.once.Do(func() {
		p.stop.Store(true)
		p.wg.Wait()
		for i := min(int(p.next.Load()), p.n); i < p.n; i++ {
			select {
			case <-p.done[i]:
			default:
				p.errs[i] = ErrStopped
				close(p.done[i])
			}
		}
	})
}

// InOrder runs do(i) for i in [0, n) on workers goroutines and calls done(i) on the calling
// goroutine in order of i, as soon as do(0..i) have succeeded. It stops at the first error in
// order of i, waits for what is running, and returns that error.
func InOrder(n, workers int, do func(i int) error, done func(i int)) error {
	p := Start(n, workers, do)
	defer p.Stop()
	for i := 0; i < n; i++ {
		if err := p.Wait(i); err != nil {
			return err
		}
		done(i)
	}
	return nil
}
