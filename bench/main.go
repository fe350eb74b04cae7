// Command bench measures hotchain against the tools a user would otherwise use, side by
// side in one run on identical generated inputs, and writes the table to bench/RESULTS.md:
//
//	go run ./bench                 # everything (make bench); several minutes on 2 cores
//	go run ./bench -only build     # one benchmark: repo, update, build, agent, apply, chain, diff
//	go run ./bench -smoke -out ''  # tiny inputs, one repetition: checks that it all runs
//	go run ./bench -pprof DIR      # also profile hotchain's side in-process (CPU, heap)
//
// It runs the real hotchain binary (built into a temporary directory) and the real peers:
// createrepo_c, rpmbuild, dnf and cp -a. Each figure is the median of several repetitions,
// hotchain and peer alternating, after one untimed run of each (warm page cache for both).
// It must not be part of make test: it is slow and loads the machine.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotchain/hotchain/bench/internal/measure"
)

// result is one row of the table.
type result struct {
	work     string
	hc, peer string  // the measured values, formatted
	peerName string  // the tool compared with
	ratio    float64 // hotchain / peer; NaN when not run
	goal     float64 // the ratio to stay at or under
	goalText string
	notRun   string // why the row has no figure
	detail   string // spreads, sizes, equivalence checks
}

func (r result) status() string {
	switch {
	case r.notRun != "":
		return "not run: " + r.notRun
	case math.IsNaN(r.ratio):
		return "not run"
	case r.ratio <= r.goal:
		return "met"
	}
	return "MISSED"
}

// scale is the size of the generated inputs.
type scale struct {
	repoPkgs               int // packages in the repository
	repoMinFiles, repoMaxF int // files per package
	repoFileSize           int64
	buildFiles             int
	buildBytes             int64
	applyFiles             int
	applyBytes             int64
	applyReplaced          float64       // share of the hotfix's files that replace existing ones
	quiesce                time.Duration // wait after making the apply's host copies
	agentHotfixes          int
	chainHotfixes          int   // the chain that the agent installs
	chainFiles             int   // files of each of its hotfixes
	chainBytes             int64 // bytes of each
	diffFiles, diffDiffer  int   // files of each tree of hotchain diff, entries that differ
	diffBytes              int64 // bytes of each tree
}

var fullScale = scale{
	repoPkgs: 1000, repoMinFiles: 10, repoMaxF: 200, repoFileSize: 2 << 10,
	buildFiles: 1000, buildBytes: 50 << 20,
	applyFiles: 10000, applyBytes: 200 << 20, applyReplaced: 0.75, quiesce: 40 * time.Second,
	agentHotfixes: 5,
	chainHotfixes: 10, chainFiles: 1000, chainBytes: 10 << 20,
	diffFiles: 100000, diffDiffer: 1000, diffBytes: 400 << 20,
}

var smokeScale = scale{
	repoPkgs: 8, repoMinFiles: 10, repoMaxF: 20, repoFileSize: 1 << 10,
	buildFiles: 20, buildBytes: 1 << 20,
	applyFiles: 100, applyBytes: 1 << 20, applyReplaced: 0.75,
	agentHotfixes: 2,
	chainHotfixes: 2, chainFiles: 8, chainBytes: 16 << 10,
	diffFiles: 2000, diffDiffer: 100, diffBytes: 4 << 20,
}

// bench is one run of the harness.
type bench struct {
	src      string // the module's root
	tmp      string // everything generated
	hotchain string // the binary under test
	reps     int    // repetitions of the fast benchmarks
	agentN   int    // of agent
	slowReps int    // of apply
	sc       scale
	pprofDir string
	want     map[string]bool // -only
	notes    []string        // how things were measured, for RESULTS.md
}

// agentReps is how often the agent benchmark runs each side (-agent-reps), else -reps.
func (b *bench) agentReps() int {
	if b.agentN > 0 {
		return b.agentN
	}
	return b.reps
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func main() {
	if spec := os.Getenv(profileEnv); spec != "" {
		profileChild(spec)
		return
	}
	reps := flag.Int("reps", 5, "repetitions of repo, update and build (median reported)")
	agentReps := flag.Int("agent-reps", 21, "repetitions of agent: the overhead sought is a few hundredths of a run, within the noise of a few runs")
	slowReps := flag.Int("slow-reps", 3, "repetitions of apply and chain")
	only := flag.String("only", "", "comma-separated benchmarks to run: repo, update, build, agent, apply, chain, diff (default all)")
	smoke := flag.Bool("smoke", false, "tiny inputs and one repetition: check that every benchmark runs")
	out := flag.String("out", "bench/RESULTS.md", "where to write the results (markdown); empty: nowhere")
	keep := flag.Bool("keep", false, "keep the generated inputs (their directory is printed)")
	inputs := flag.String("inputs", "", "generate the inputs in `DIR` and keep them; a later run with the same DIR (and scale) reuses them")
	pprofDir := flag.String("pprof", "", "also run hotchain's side in-process under pprof and write CPU and heap profiles to `DIR`")
	flag.Parse()

	b := &bench{reps: *reps, agentN: *agentReps, slowReps: *slowReps, sc: fullScale, pprofDir: *pprofDir}
	if *smoke {
		b.sc, b.reps, b.agentN, b.slowReps = smokeScale, 1, 1, 1
	}
	src, err := os.Getwd()
	if err == nil {
		_, err = b.main(src, *only, *out, *keep, *inputs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// main runs the benchmarks -only names (all when empty) with the module at src, prints the
// table and writes it to out (unless "").
func (b *bench) main(src, only, out string, keep bool, inputs string) ([]result, error) {
	b.src = src
	if _, err := os.Stat(filepath.Join(b.src, "cmd/hotchain")); err != nil {
		return nil, fmt.Errorf("run bench from the repository's root (go run ./bench): %v", err)
	}
	var err error
	if inputs != "" {
		b.tmp, keep = inputs, true
		err = os.MkdirAll(inputs, 0o755)
	} else {
		b.tmp, err = os.MkdirTemp("", "hotchain-bench-")
	}
	if err != nil {
		return nil, err
	}
	if keep {
		b.logf("inputs kept in %s", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}
	if b.pprofDir != "" {
		if err := os.MkdirAll(b.pprofDir, 0o755); err != nil {
			return nil, err
		}
	}
	b.hotchain = filepath.Join(b.tmp, "bin/hotchain")
	build := exec.Command("go", "build", "-trimpath", "-o", b.hotchain, "./cmd/hotchain")
	build.Dir = b.src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/hotchain: %v\n%s", err, o)
	}

	b.want = map[string]bool{}
	for _, w := range strings.Split(only, ",") {
		if w = strings.TrimSpace(w); w != "" {
			b.want[w] = true
		}
	}
	b.note("Each figure is wall time from fork to exit of the command, median of the runs. Commands run under GNU time (`/usr/bin/time -f %%M`, on both sides), which gives the peak RSS of the command's own process: the rusage that this harness gets for a child would include the harness's own peak, because Go starts children with vfork.")
	b.note("Page cache warm for both sides (one untimed run of each first; no cache is dropped). Before every timed run `sync` writes back what the run before left dirty, so neither side pays for the other's writes.")
	b.note("Inputs are generated, the same bytes for both sides: files of text that looks like source code (a fixed vocabulary, Zipf-like), which gzip -6 compresses about 3:1, with sizes spread log-uniformly around the mean.")
	b.note("Same compression on both sides: hotchain's RPM payloads and tarballs are gzip level 6 (PAYLOADFLAGS 6; klauspost/pgzip, 256 KiB blocks on every core) and rpmbuild gets `%%_binary_payload w6.gzdio` (zlib level 6, one core); repository metadata is gzip level 6 on both sides (createrepo_c's default; hotchain: klauspost/pgzip).")
	start := time.Now()
	var rows []result
	for _, x := range []struct {
		names []string
		run   func() []result
	}{
		{[]string{"repo", "update"}, b.repoBenches}, // they share their 1,000 packages
		{[]string{"build"}, b.buildBench},
		{[]string{"agent"}, b.agentBench},
		{[]string{"apply"}, b.applyBench},
		{[]string{"chain"}, b.chainBenches},
		{[]string{"diff"}, b.diffBench},
	} {
		if !b.wants(x.names...) {
			continue
		}
		t := time.Now()
		b.logf("%s ...", strings.Join(x.names, ", "))
		rows = append(rows, x.run()...)
		b.logf("%s done in %s", strings.Join(x.names, ", "), measure.Secs(time.Since(t)))
	}
	table := renderTable(rows)
	fmt.Print(table)
	b.logf("all done in %s", measure.Secs(time.Since(start)))
	if out == "" {
		return rows, nil
	}
	md := b.renderMarkdown(rows, table)
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return nil, err
	}
	b.logf("wrote %s", out)
	return rows, nil
}

// generate runs gen once per inputs directory: with -inputs, a later run finds the
// marker and reuses what gen made.
func (b *bench) generate(name string, gen func() error) error {
	marker := filepath.Join(b.tmp, ".generated-"+name)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := gen(); err != nil {
		return err
	}
	return os.WriteFile(marker, nil, 0o644)
}

// wants reports whether -only asks for any of the named benchmarks.
func (b *bench) wants(names ...string) bool {
	if len(b.want) == 0 {
		return true
	}
	for _, n := range names {
		if b.want[n] {
			return true
		}
	}
	return false
}

// failed is a row for a benchmark that could not run at all.
func failed(work, peer string, goal float64, goalText string, err error) result {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	fmt.Fprintf(os.Stderr, "bench: %s: %v\n", work, err)
	return result{work: work, peerName: peer, ratio: math.NaN(), goal: goal, goalText: goalText, notRun: msg}
}
