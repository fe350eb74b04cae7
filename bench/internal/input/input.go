// Package input holds the generated inputs that the benchmarks share: source-like text,
// file sizes spread as in a real hotfix, product file names and whole hotfix directories.
// Every input is a pure function of its seed, so two runs measure the same bytes. It
// writes only under the directories it is given and must not run or time anything: that
// is measure's.
package input

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
)

// The content of every file is text that looks like source code (a fixed vocabulary of
// identifiers, operators and indentation), so that it compresses about as well as the Perl
// modules, scripts and configuration files of a real hotfix (gzip -6: about 3:1).

// vocabulary is the pool of words the text is made of.
var vocabulary = func() []string {
	rng := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz_"
	words := []string{"my", "sub", "return", "if", "else", "for", "while", "use", "package", "=", "==",
		"->", "{", "}", "(", ")", ";", "$self", "@_", "%args", "undef", "1", "0", "'", "\"", "=~", "&&", "||"}
	for len(words) < 2000 {
		n := 3 + rng.IntN(9)
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(letters[rng.IntN(len(letters))])
		}
		words = append(words, b.String())
	}
	return words
}()

// writeText writes size bytes of source-like text to w.
func writeText(w io.Writer, size int64, rng *rand.Rand) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for size > 0 {
		line = line[:0]
		line = append(line, "        "[:rng.IntN(5)*2]...)
		for n := 2 + rng.IntN(10); n > 0; n-- {
			// Zipf-like: a few words are very common, as in code.
			i := int(float64(len(vocabulary)) * rng.Float64() * rng.Float64() * rng.Float64())
			line = append(line, vocabulary[i]...)
			line = append(line, ' ')
		}
		line[len(line)-1] = '\n'
		if int64(len(line)) > size {
			line = line[:size]
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
		size -= int64(len(line))
	}
	return bw.Flush()
}

// WriteFile writes a file of generated text.
func WriteFile(path string, size int64, rng *rand.Rand) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeText(f, size, rng); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Sizes splits total into n file sizes spread log-uniformly between total/n/8 and
// total/n*4 (most files small, a few large, as in a real hotfix), scaled to add up to total
// exactly.
func Sizes(n int, total int64, rng *rand.Rand) []int64 {
	avg := float64(total) / float64(n)
	raw := make([]float64, n)
	var sum float64
	for i := range raw {
		// log-uniform over [avg/8, avg*4]
		raw[i] = avg / 8 * math.Pow(32, rng.Float64())
		sum += raw[i]
	}
	out := make([]int64, n)
	var got int64
	for i := range raw {
		out[i] = max(1, int64(raw[i]/sum*float64(total)))
		got += out[i]
	}
	out[0] += total - got
	return out
}

// Hotfix describes a generated hotfix directory.
type Hotfix struct {
	Version string   // 6.14.2.1
	Rels    []string // files under FileChanges/, slash-separated
	Sizes   []int64
	Seed    uint64
	// NoScripts leaves Install/ out: the apply benchmark compares file work only.
	NoScripts bool
}

// WriteHotfix writes the hotfix directory dir: version.txt, fixed-bugs.txt, the files under
// FileChanges/, an install script, and filelist.txt (as `hotchain build` would make it, so
// that every tool packages the same files).
func WriteHotfix(dir string, s Hotfix) error {
	rng := rand.New(rand.NewPCG(s.Seed, 7))
	if err := os.MkdirAll(filepath.Join(dir, "Install"), 0o755); err != nil {
		return err
	}
	small := map[string]string{
		"version.txt":          s.Version + "\n",
		"fixed-bugs.txt":       fmt.Sprintf("SHOP-%s Cart total is wrong with discounts\n\nThe total ignored stacked discounts.\n", strings.ReplaceAll(s.Version, ".", "")),
		"fixed-files.txt":      "SHOP: " + strings.Join(s.Rels[:min(3, len(s.Rels))], " ") + "\n",
		"Install/10-caches.sh": "echo refreshing caches\n",
		"Install/90-notify.sh": "echo done\n",
	}
	if s.NoScripts {
		delete(small, "Install/10-caches.sh")
		delete(small, "Install/90-notify.sh")
	}
	for rel, text := range small {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(text), 0o644); err != nil {
			return err
		}
	}
	for i, rel := range s.Rels {
		if err := WriteFile(filepath.Join(dir, "FileChanges", filepath.FromSlash(rel)), s.Sizes[i], rng); err != nil {
			return err
		}
	}
	return writeFilelist(dir)
}

// writeFilelist writes dir/filelist.txt as hotchain build would, from the hotfix
// directory model itself.
func writeFilelist(dir string) error {
	d, err := hotfix.ReadDir(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, hotfix.FilelistFile), d.Filelist(), 0o644)
}

// ModuleRels names n product files spread over directories of perDir files:
// lib/Shop/<group>NNN/FileNNNNN.pm.
func ModuleRels(group string, n, perDir, first int) []string {
	rels := make([]string, n)
	for i := range rels {
		k := first + i
		rels[i] = fmt.Sprintf("lib/Shop/%s%03d/File%05d.pm", group, k/perDir, k)
	}
	return rels
}
