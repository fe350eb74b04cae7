package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one timed run of a command.
type sample struct {
	wall time.Duration
	rss  int64 // peak resident set of the process and the children it waited for, bytes
}

// command is one command line to time.
type command struct {
	name string
	args []string
	dir  string
	env  []string // added to this process's environment
	// ok accepts exit codes other than 0 (agent -check exits 100 when hotfixes are pending).
	ok func(code int) bool
}

func (c command) String() string {
	return strings.TrimSpace(c.name + " " + strings.Join(c.args, " "))
}

// timeCmd is GNU time, which reports the peak RSS of the command alone. The rusage of a
// child of this process would not do: Go starts children with vfork, and the kernel folds
// the peak RSS of the memory they shared until exec (this harness's) into the child's.
var timeCmd = func() string {
	if p, err := exec.LookPath("/usr/bin/time"); err == nil {
		return p
	}
	return ""
}()

// run runs c once and measures it. The clock runs from fork to reap: what a user waits for
// (GNU time around the command, when there is one, adds a fork and an exec to both sides).
func run(c command) (sample, error) {
	name, args := c.name, c.args
	var rssFile string
	if timeCmd != "" {
		f, err := os.CreateTemp("", "bench-rss-*")
		if err != nil {
			return sample{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		name, args = timeCmd, append([]string{"-q", "-f", "%M", "-o", rssFile, c.name}, c.args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), c.env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if c.ok == nil || !c.ok(code) {
			return sample{}, fmt.Errorf("%s: %v\n%s", c, err, tail(out.String(), 1500))
		}
	}
	s := sample{wall: wall}
	if rssFile != "" {
		data, _ := os.ReadFile(rssFile)
		// The last line: GNU time writes "Command exited with non-zero status" first.
		lines := strings.Fields(string(data))
		if len(lines) > 0 {
			if kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64); err == nil {
				s.rss = kb * 1024
			}
		}
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rss = ru.Maxrss * 1024 // kilobytes on Linux; includes this harness's RSS (vfork)
	}
	return s, nil
}

// runOut runs a command that prepares or checks something and returns its output.
func runOut(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 1500))
	}
	return string(out), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// side is one of the two tools of a comparison: how to put its input in place (untimed)
// and what to run (timed).
type side struct {
	setup func() error // may be nil
	cmd   func() command
}

// pair runs hotchain's side and the peer's side reps times each, alternating so that both
// see the same machine (another user's job, a warm or cold cache), and after one untimed
// run of each so that both start from a warm page cache. Who goes first changes every
// round, so that neither always runs right after the other.
func pair(reps int, hc, peer side) (hcS, peerS []sample, err error) {
	one := func(s side) (sample, error) {
		if s.setup != nil {
			if err := s.setup(); err != nil {
				return sample{}, fmt.Errorf("setup: %w", err)
			}
		}
		return run(s.cmd())
	}
	for i := -1; i < reps; i++ {
		first, second := hc, peer
		if i%2 != 0 {
			first, second = peer, hc
		}
		x, err := one(first)
		if err != nil {
			return nil, nil, err
		}
		y, err := one(second)
		if err != nil {
			return nil, nil, err
		}
		a, b := x, y
		if i%2 != 0 {
			a, b = y, x
		}
		if i >= 0 {
			hcS, peerS = append(hcS, a), append(peerS, b)
		}
	}
	return hcS, peerS, nil
}

// repeat runs c n times.
func repeat(n int, c command) ([]sample, error) {
	var s []sample
	for range n {
		x, err := run(c)
		if err != nil {
			return nil, err
		}
		s = append(s, x)
	}
	return s, nil
}

// median of the wall times.
func medianWall(s []sample) time.Duration {
	w := make([]time.Duration, len(s))
	for i := range s {
		w[i] = s[i].wall
	}
	slices.Sort(w)
	if len(w) == 0 {
		return 0
	}
	if len(w)%2 == 1 {
		return w[len(w)/2]
	}
	return (w[len(w)/2-1] + w[len(w)/2]) / 2
}

// medianRSS of the peak resident sets.
func medianRSS(s []sample) int64 {
	r := make([]int64, len(s))
	for i := range s {
		r[i] = s[i].rss
	}
	slices.Sort(r)
	if len(r) == 0 {
		return 0
	}
	return r[len(r)/2]
}

// spread is "min..max" of the wall times, to show how noisy a median is.
func spread(s []sample) string {
	if len(s) == 0 {
		return ""
	}
	lo, hi := s[0].wall, s[0].wall
	for _, x := range s {
		lo, hi = min(lo, x.wall), max(hi, x.wall)
	}
	return fmt.Sprintf("%s..%s", secs(lo), secs(hi))
}

func secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// settle writes back everything the machine has yet to write, so that a timed run does not
// pay for the writes of the run before it (on ext4 an fsync can wait for other files' data).
func settle(err error) error {
	if err != nil {
		return err
	}
	_, err = runOut("sync")
	return err
}
