package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hotchain/hotchain/bench/internal/measure"
	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/applier"
	"github.com/hotchain/hotchain/packaging"
	"github.com/hotchain/hotchain/packaging/treediff"
	"github.com/hotchain/hotchain/repo"
	"github.com/hotchain/hotchain/sysconfig"
)

// With -pprof, hotchain's side of a benchmark also runs once in-process under the CPU
// profiler: in a child process of its own (this program, re-executed), so that the profile
// shows a fresh process like the hotchain binary, not this harness's heap. The child writes
// NAME.cpu.pprof, NAME.heap.pprof (allocations) and NAME.top.txt to the -pprof directory.

const profileEnv = "HOTCHAIN_BENCH_PROFILE" // JSON of profileJob

type profileJob struct {
	Op   string   // repo, update, build, apply, diff
	Args []string // the op's inputs
	Dir  string   // where the profiles go
}

// profile runs op in a profiled child process; the benchmark has set its input up.
func (b *bench) profile(op string, args ...string) {
	if b.pprofDir == "" {
		return
	}
	job, _ := json.Marshal(profileJob{Op: op, Args: args, Dir: b.pprofDir})
	self, err := os.Executable()
	if err != nil {
		b.logf("profile %s: %v", op, err)
		return
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), profileEnv+"="+string(job))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.logf("profile %s: %v\n%s", op, err, out)
		return
	}
	lines := strings.Split(string(out), "\n")
	b.logf("%s", strings.Join(lines[:min(len(lines), 20)], "\n"))
}

// profileChild is the child's main.
func profileChild(spec string) {
	var job profileJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := runProfiled(job); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", job.Op, err)
		os.Exit(1)
	}
}

func runProfiled(job profileJob) error {
	ctx := context.Background()
	a := job.Args
	ops := map[string]func() error{
		"repo": func() error {
			_, err := repo.Build(ctx, repo.Options{Dir: a[0], Product: "shop", BaseURLs: []string{"http://127.0.0.1:8000"}, NoUpdate: true, Time: time.Now()})
			return err
		},
		"update": func() error {
			_, err := repo.Build(ctx, repo.Options{Dir: a[0], Product: "shop", BaseURLs: []string{"http://127.0.0.1:8000"}, Time: time.Now()})
			return err
		},
		"build": func() error {
			_, err := packaging.Build(a[0], packaging.BuildOptions{Product: "shop", Time: buildTime, OutDir: a[1]})
			return err
		},
		"diff": func() error {
			v, err := hotfix.ParseHotfixVersion("6.14.2.1")
			if err != nil {
				return err
			}
			_, err = treediff.Make(ctx, treediff.Options{Old: a[0], New: a[1], Out: a[2], Version: v})
			return err
		},
		"apply": func() error {
			c, err := sysconfig.Load(a[0], a[1], os.Environ())
			if err != nil {
				return err
			}
			h := &applier.Host{Cfg: c, Environ: os.Environ()}
			return h.Apply(ctx, a[2], applier.ApplyOptions{})
		},
	}
	f := ops[job.Op]
	if f == nil {
		return fmt.Errorf("no such operation")
	}
	cpu := filepath.Join(job.Dir, job.Op+".cpu.pprof")
	pf, err := os.Create(cpu)
	if err != nil {
		return err
	}
	defer pf.Close()
	if err := pprof.StartCPUProfile(pf); err != nil {
		return err
	}
	start := time.Now()
	ferr := f()
	wall := time.Since(start)
	pprof.StopCPUProfile()
	if ferr != nil {
		return ferr
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if hf, err := os.Create(filepath.Join(job.Dir, job.Op+".heap.pprof")); err == nil {
		pprof.Lookup("allocs").WriteTo(hf, 0)
		hf.Close()
	}
	top, _ := exec.Command("go", "tool", "pprof", "-top", "-nodecount=40", cpu).CombinedOutput()
	cum, _ := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=40", cpu).CombinedOutput()
	summary := fmt.Sprintf("%s in-process: %s wall, %s allocated, heap obtained from the OS %s\n",
		job.Op, measure.Secs(wall), measure.MiB(int64(ms.TotalAlloc)), measure.MiB(int64(ms.HeapSys)))
	os.WriteFile(filepath.Join(job.Dir, job.Op+".top.txt"), []byte(summary+string(top)+"\n"+string(cum)), 0o644)
	fmt.Print(summary + string(top))
	return nil
}
