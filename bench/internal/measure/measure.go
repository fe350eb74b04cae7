// Package measure holds the harness of the benchmarks: one command timed from fork to
// reap with its peak RSS (GNU time), hotchain and its peer run alternately after an
// untimed warm-up, the medians and spreads of the samples, the plain-text table and the
// description of the machine a run was measured on. It knows nothing of hotchain or of
// the benchmarks' inputs, and it must not decide what a figure means: the goals, the
// rows and their checks are bench's.
package measure

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

// Sample is one timed run of a command.
type Sample struct {
	Wall time.Duration
	RSS  int64 // peak resident set of the process and the children it waited for, bytes
}

// Command is one command line to time.
type Command struct {
	Name string
	Args []string
	Dir  string
	Env  []string // added to this process's environment
	// OK accepts exit codes other than 0 (agent -check exits 100 when hotfixes are pending).
	OK func(code int) bool
}

func (c Command) String() string {
	return strings.TrimSpace(c.Name + " " + strings.Join(c.Args, " "))
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

// Run runs c once and measures it. The clock runs from fork to reap: what a user waits for
// (GNU time around the command, when there is one, adds a fork and an exec to both sides).
func Run(c Command) (Sample, error) {
	name, args := c.Name, c.Args
	var rssFile string
	if timeCmd != "" {
		f, err := os.CreateTemp("", "bench-rss-*")
		if err != nil {
			return Sample{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		name, args = timeCmd, append([]string{"-q", "-f", "%M", "-o", rssFile, c.Name}, c.Args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), c.Env...)
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
		if c.OK == nil || !c.OK(code) {
			return Sample{}, fmt.Errorf("%s: %v\n%s", c, err, Tail(out.String(), 1500))
		}
	}
	s := Sample{Wall: wall}
	if rssFile != "" {
		data, _ := os.ReadFile(rssFile)
		// The last line: GNU time writes "Command exited with non-zero status" first.
		lines := strings.Fields(string(data))
		if len(lines) > 0 {
			if kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64); err == nil {
				s.RSS = kb * 1024
			}
		}
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.RSS = ru.Maxrss * 1024 // kilobytes on Linux; includes this harness's RSS (vfork)
	}
	return s, nil
}

// Output runs a command that prepares or checks something and returns its output.
func Output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, Tail(string(out), 1500))
	}
	return string(out), nil
}

// Tail is the last n bytes of s, for error messages that quote a command's output.
func Tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Side is one of the two tools of a comparison: how to put its input in place (untimed)
// and what to run (timed).
type Side struct {
	Setup func() error // may be nil
	Cmd   func() Command
}

// Pair runs hotchain's side and the peer's side reps times each, alternating so that both
// see the same machine (another user's job, a warm or cold cache), and after one untimed
// run of each so that both start from a warm page cache. Who goes first changes every
// round, so that neither always runs right after the other.
func Pair(reps int, hc, peer Side) (hcS, peerS []Sample, err error) {
	one := func(s Side) (Sample, error) {
		if s.Setup != nil {
			if err := s.Setup(); err != nil {
				return Sample{}, fmt.Errorf("setup: %w", err)
			}
		}
		return Run(s.Cmd())
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

// Repeat runs c n times.
func Repeat(n int, c Command) ([]Sample, error) {
	var s []Sample
	for range n {
		x, err := Run(c)
		if err != nil {
			return nil, err
		}
		s = append(s, x)
	}
	return s, nil
}

// MedianWall is the median of the wall times.
func MedianWall(s []Sample) time.Duration {
	w := make([]time.Duration, len(s))
	for i := range s {
		w[i] = s[i].Wall
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

// MedianRSS is the median of the peak resident sets.
func MedianRSS(s []Sample) int64 {
	r := make([]int64, len(s))
	for i := range s {
		r[i] = s[i].RSS
	}
	slices.Sort(r)
	if len(r) == 0 {
		return 0
	}
	return r[len(r)/2]
}

// Spread is "min..max" of the wall times, to show how noisy a median is.
func Spread(s []Sample) string {
	if len(s) == 0 {
		return ""
	}
	lo, hi := s[0].Wall, s[0].Wall
	for _, x := range s {
		lo, hi = min(lo, x.Wall), max(hi, x.Wall)
	}
	return fmt.Sprintf("%s..%s", Secs(lo), Secs(hi))
}

// Secs is d to a precision a table row needs: 12.3s, 1.23s, 123ms.
func Secs(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

// MiB is b bytes in mebibytes, one decimal.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Settle writes back everything the machine has yet to write, so that a timed run does not
// pay for the writes of the run before it (on ext4 an fsync can wait for other files' data).
func Settle(err error) error {
	if err != nil {
		return err
	}
	_, err = Output("sync")
	return err
}
