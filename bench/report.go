package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hotchain/hotchain/bench/internal/measure"
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
	return measure.Table(all)
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
	for _, l := range measure.Machine(b.tmp, b.src) {
		s.WriteString("- " + l + "\n")
	}
	return s.String()
}
