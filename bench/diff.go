package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hotchain/hotchain/bench/internal/input"
	"github.com/hotchain/hotchain/bench/internal/measure"
	"github.com/hotchain/hotchain/hotfix"
)

// The diff benchmark: `hotchain diff` of two product trees of 100,000 files that differ in
// 1,000 entries, its self-check included, against `diff -rq OLD NEW`, which reads the same
// two trees (lstat of every entry, every pair of same-size files byte by byte) and writes
// nothing.

const diffPerDir = 40

// diffLayout is how NEW differs from OLD: each list names entries of OLD (or of NEW, for
// added ones).
type diffLayout struct {
	rels                                  []string // OLD's files
	links                                 []string // OLD's symlinks (to a file beside them)
	resized, rewritten, chmodded, removed []int    // indexes into rels
	relinked                              []int    // indexes into links
	removedDir                            string   // a directory NEW no longer has
	added                                 []string // NEW's files OLD lacks
}

// shipped is how many files and symlinks the hotfix places; removed how many it removes
// (directories aside).
func (l diffLayout) shipped() int {
	return len(l.resized) + len(l.rewritten) + len(l.chmodded) + len(l.relinked) + len(l.added)
}

func (l diffLayout) removedFiles() int {
	n := len(l.removed)
	for _, r := range l.rels {
		if l.removedDir != "" && strings.HasPrefix(r, l.removedDir+"/") {
			n++
		}
	}
	return n
}

func (l diffLayout) differ() int { return l.shipped() + l.removedFiles() }

func (b *bench) diffBench() []result {
	n, differ := b.sc.diffFiles, b.sc.diffDiffer
	work := fmt.Sprintf("diff: %s files, %s differ", thousands(n), thousands(differ))
	const peerName = "diff -rq --no-dereference OLD NEW"
	fail := func(err error) []result { return []result{failed(work, peerName, 1.5, "<= 1.5x", err)} }
	if _, err := exec.LookPath("diff"); err != nil {
		return fail(err)
	}
	base := filepath.Join(b.tmp, fmt.Sprintf("diff-%d-%d", n, differ))
	oldDir, newDir := filepath.Join(base, "old"), filepath.Join(base, "new")
	l := diffPlan(n, differ)
	err := b.generate(fmt.Sprintf("diff-%d-%d-%d", n, differ, b.sc.diffBytes), func() error {
		os.RemoveAll(base)
		return writeDiffTrees(oldDir, newDir, l, b.sc.diffBytes)
	})
	if err != nil {
		return fail(err)
	}
	oldBytes, oldFiles := dirSize(oldDir)

	// Each run writes into a directory of its own, and they are all removed at the end: a
	// file system that just freed the inodes of the run before would make the next run's
	// creates slower than on any vendor's machine (ext4 passes over recently freed inodes).
	outs := filepath.Join(base, "out")
	os.RemoveAll(outs)
	defer os.RemoveAll(outs)
	runs, out := 0, ""
	fresh := func() error {
		runs++
		out = filepath.Join(outs, fmt.Sprint(runs), "shop-hotfix-6.14.2.1")
		return os.MkdirAll(filepath.Dir(out), 0o755)
	}
	args := func() []string {
		return []string{"diff", "-from", oldDir, "-to", newDir, "-version", "6.14.2.1", "-out", out}
	}
	hc := func() measure.Command { return measure.Command{Name: b.hotchain, Args: args()} }
	peer := func() measure.Command {
		return measure.Command{Name: "diff", Args: []string{"-rq", "--no-dereference", oldDir, newDir}, OK: func(code int) bool { return code == 1 }}
	}
	hcS, peerS, err := measure.Pair(b.reps, measure.Side{Setup: fresh, Cmd: hc}, measure.Side{Cmd: peer})
	if err != nil {
		return fail(err)
	}

	// What the last run wrote: as many changes as were made, the removals listed.
	check := "not checked"
	if d, err := hotfix.ReadDir(out); err != nil {
		check = "the hotfix does not read: " + err.Error()
	} else {
		rs, err := hotfix.ReadRemovals(out)
		files := 0
		for _, e := range d.Entries {
			if strings.HasPrefix(e.Rel, "FileChanges/") && !e.IsDir() {
				files++
			}
		}
		removedFiles := 0
		for _, r := range rs {
			if r.Kind != hotfix.RemoveDir {
				removedFiles++
			}
		}
		if err != nil || files != l.shipped() || removedFiles != l.removedFiles() {
			check = fmt.Sprintf("WRONG: the hotfix ships %d files and symlinks and removes %d (%v), want %d and %d", files, removedFiles, err, l.shipped(), l.removedFiles())
		} else {
			check = fmt.Sprintf("the hotfix ships %d files and symlinks and removes %d entries (%d directories among them), as made", files, len(rs), len(rs)-removedFiles)
		}
	}
	if b.pprofDir != "" && fresh() == nil {
		b.profile("diff", oldDir, newDir, out)
	}
	return []result{{
		work: work, peerName: peerName,
		hc: measure.Secs(measure.MedianWall(hcS)), peer: measure.Secs(measure.MedianWall(peerS)),
		ratio: ratio(hcS, peerS), goal: 1.5, goalText: "<= 1.5x",
		detail: fmt.Sprintf("OLD: %d files (%s) in directories of %d, and %d symlinks; NEW is a copy (`cp -a`) with %d entries changed: %d files of another size, %d of the same size with other bytes, %d with another mode, %d symlinks retargeted, %d files added (some in a new directory), %d removed (%d of them with their directory). `hotchain %s` (compare, write the hotfix, self-check: apply to a sparse copy and compare with NEW) runs %s; `diff -rq --no-dereference` (symlinks compared, not followed, as hotchain does) runs %s. %s.",
			oldFiles, measure.MiB(oldBytes), diffPerDir, len(l.links), l.differ(), len(l.resized), len(l.rewritten), len(l.chmodded), len(l.relinked), len(l.added), l.removedFiles(), l.removedFiles()-len(l.removed),
			strings.Join(args(), " "), measure.Spread(hcS), measure.Spread(peerS), check),
	}}
}

// diffPlan picks the changes: of differ entries, 45% files resized, 20% rewritten in place
// (same size), 10% chmodded, 5% symlinks retargeted, 10% added, 10% removed (a directory of
// diffPerDir files among them, when there are enough).
func diffPlan(n, differ int) diffLayout {
	l := diffLayout{rels: input.ModuleRels("Mod", n, diffPerDir, 0)}
	nLinks := max(differ/5, 4)
	for i := 0; i < nLinks; i++ {
		d := filepath.Dir(l.rels[i*n/nLinks])
		l.links = append(l.links, fmt.Sprintf("%s/Link%05d.pm", d, i))
	}
	rng := rand.New(rand.NewPCG(300, uint64(n)))
	perm := rng.Perm(n)
	// A tenth of the changes are removals: with room for it, the last directory goes away
	// whole, its files not picked for anything else.
	nRemoved := differ * 10 / 100
	if nRemoved >= 2*diffPerDir {
		l.removedDir = filepath.Dir(l.rels[n-1])
		nRemoved -= diffPerDir
	}
	var pick []int
	for _, i := range perm {
		if l.removedDir == "" || !strings.HasPrefix(l.rels[i], l.removedDir+"/") {
			pick = append(pick, i)
		}
	}
	take := func(k int) []int { s := pick[:k]; pick = pick[k:]; return s }
	l.resized = take(differ * 45 / 100)
	l.rewritten = take(differ * 20 / 100)
	l.chmodded = take(differ * 10 / 100)
	nRelinked := differ * 5 / 100
	for i := 0; i < nRelinked; i++ {
		l.relinked = append(l.relinked, i*nLinks/nRelinked)
	}
	nAdded := differ - len(l.resized) - len(l.rewritten) - len(l.chmodded) - nRelinked - differ*10/100
	l.removed = take(nRemoved)
	for i := 0; i < nAdded; i++ {
		if i%2 == 0 {
			l.added = append(l.added, fmt.Sprintf("%s/New%05d.pm", filepath.Dir(l.rels[perm[i]]), i))
		} else {
			l.added = append(l.added, fmt.Sprintf("lib/Shop/Fresh/New%05d.pm", i))
		}
	}
	return l
}

// writeDiffTrees writes OLD (generated text: mostly small files, a few of some MiB, total
// bytes in all) and NEW, a copy of OLD changed as l says.
func writeDiffTrees(oldDir, newDir string, l diffLayout, total int64) error {
	rng := rand.New(rand.NewPCG(301, 1))
	n := len(l.rels)
	sz := input.Sizes(n, total*9/10, rng)
	// Some larger files (archives, images): a tenth of the bytes in a few files.
	for i := 0; i < max(n/5000, 1); i++ {
		sz[(i*7919)%n] += total / 10 / int64(max(n/5000, 1))
	}
	for i, rel := range l.rels {
		if err := input.WriteFile(filepath.Join(oldDir, filepath.FromSlash(rel)), sz[i], rng); err != nil {
			return err
		}
	}
	for i, rel := range l.links {
		target := filepath.Base(l.rels[i*n/len(l.links)])
		if err := os.Symlink(target, filepath.Join(oldDir, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	if out, err := exec.Command("cp", "-a", oldDir, newDir).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a: %v: %s", err, out)
	}
	p := func(rel string) string { return filepath.Join(newDir, filepath.FromSlash(rel)) }
	for _, i := range l.resized {
		if err := input.WriteFile(p(l.rels[i]), sz[i]+1+int64(rng.IntN(200)), rng); err != nil {
			return err
		}
	}
	for _, i := range l.rewritten {
		// The last byte differs: a byte-by-byte comparison reads the whole file.
		f, err := os.OpenFile(p(l.rels[i]), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteAt([]byte{'#'}, sz[i]-1)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	for _, i := range l.chmodded {
		if err := os.Chmod(p(l.rels[i]), 0o755); err != nil {
			return err
		}
	}
	for _, i := range l.relinked {
		if err := os.Remove(p(l.links[i])); err != nil {
			return err
		}
		if err := os.Symlink("../Elsewhere.pm", p(l.links[i])); err != nil {
			return err
		}
	}
	for _, i := range l.removed {
		if err := os.Remove(p(l.rels[i])); err != nil {
			return err
		}
	}
	if l.removedDir != "" {
		if err := os.RemoveAll(p(l.removedDir)); err != nil {
			return err
		}
	}
	for _, rel := range l.added {
		if err := input.WriteFile(p(rel), 100+int64(rng.IntN(8000)), rng); err != nil {
			return err
		}
	}
	return nil
}

// thousands is n with thousands separators: 100,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
