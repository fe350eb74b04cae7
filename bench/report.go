package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// The table on the console and bench/RESULTS.md with the machine it was measured on.

var header = []string{"work", "hotchain", "peer", "ratio", "goal", "result"}

func (r result) cells() []string {
	ratio := "-"
	if !math.IsNaN(r.ratio) {
		ratio = fmt.Sprintf("%.2fx", r.ratio)
	}
	peer := r.peerName
	if r.peer != "" {
		peer = r.peer + " (" + r.peerName + ")"
	}
	hc := r.hc
	if hc == "" {
		hc = "-"
	}
	return []string{r.work, hc, peer, ratio, r.goalText, r.status()}
}

// renderTable is the plain-text table printed at the end of a run.
func renderTable(rows []result) string {
	all := [][]string{header}
	for _, r := range rows {
		all = append(all, r.cells())
	}
	width := make([]int, len(header))
	for _, row := range all {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for n, row := range all {
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			fmt.Fprintf(&b, "%-*s", width[i], c)
		}
		b.WriteString("\n")
		if n == 0 {
			for i, w := range width {
				if i > 0 {
					b.WriteString("  ")
				}
				b.WriteString(strings.Repeat("-", w))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (b *bench) renderMarkdown(rows []result, _ string) string {
	var s strings.Builder
	s.WriteString("# hotchain benchmarks\n\n")
	fmt.Fprintf(&s, "Written by `make bench` (`go run ./bench`) on %s. Each figure is the median wall time of\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&s, "several runs (%d for repo, update and build, %d for agent, %d for apply and chain), hotchain and\n", b.reps, b.agentReps(), b.slowReps)
	s.WriteString("its peer alternating (who goes first changes every round), after one untimed run of each so\n")
	s.WriteString("that both read from a warm page cache.\n")
	s.WriteString("The ratio is hotchain's median over the peer's, both measured in the same run.\n\n")
	s.WriteString("| " + strings.Join(header, " | ") + " |\n")
	s.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
	for _, r := range rows {
		s.WriteString("| " + strings.Join(r.cells(), " | ") + " |\n")
	}
	s.WriteString("\n## Details\n\n")
	s.WriteString("$BENCH is the run's temporary directory.\n\n")
	for _, r := range rows {
		if r.detail != "" {
			fmt.Fprintf(&s, "- **%s**: %s\n", r.work, strings.ReplaceAll(r.detail, b.tmp, "$BENCH"))
		}
	}
	if len(b.notes) > 0 {
		s.WriteString("\n## How it was measured\n\n")
		for _, n := range b.notes {
			s.WriteString("- " + n + "\n")
		}
	}
	s.WriteString("\n## Machine\n\n")
	for _, l := range b.machine() {
		s.WriteString("- " + l + "\n")
	}
	return s.String()
}

// machine describes where the run happened: cores, memory, file system, tool versions.
func (b *bench) machine() []string {
	var out []string
	model := procField("/proc/cpuinfo", "model name")
	out = append(out, fmt.Sprintf("CPU: %d cores (%s)", runtime.NumCPU(), model))
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		out = append(out, "memory: "+kb)
	}
	if v, err := runOut("uname", "-sr"); err == nil {
		out = append(out, "kernel: "+strings.TrimSpace(v))
	}
	if v, err := runOut("df", "--output=fstype", b.tmp); err == nil {
		if f := strings.Fields(v); len(f) == 2 {
			out = append(out, "file system of the inputs: "+f[1])
		}
	}
	if v, err := runOut("nproc"); err == nil {
		out = append(out, "cores usable (nproc): "+strings.TrimSpace(v))
	}
	out = append(out, "Go: "+runtime.Version())
	for _, t := range [][]string{
		{"createrepo_c", "--version"},
		{"rpmbuild", "--version"},
		{"rpm", "--version"},
		{"dnf", "--version"},
		{"cp", "--version"},
	} {
		v, err := runOut(t[0], t[1:]...)
		if err != nil {
			out = append(out, t[0]+": not found")
			continue
		}
		out = append(out, t[0]+": "+strings.TrimSpace(strings.SplitN(v, "\n", 2)[0]))
	}
	if v, err := runOut("git", "-C", b.src, "rev-parse", "--short", "HEAD"); err == nil {
		rev := strings.TrimSpace(v)
		if st, err := runOut("git", "-C", b.src, "status", "--porcelain", "--untracked-files=no"); err == nil && strings.TrimSpace(st) != "" {
			rev += " with uncommitted changes"
		}
		out = append(out, "hotchain: "+rev)
	}
	return out
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
