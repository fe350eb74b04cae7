package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hotchain/hotchain/bench/internal/input"
	"github.com/hotchain/hotchain/bench/internal/measure"
	"github.com/hotchain/hotchain/packaging"
)

// The repository benchmarks: metadata for a directory of hotfix RPMs from scratch
// (createrepo_c --no-database) and after adding one package (createrepo_c --update).

// buildTime is the SOURCE_DATE_EPOCH of every generated package.
var buildTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// makeRepoPackages builds n hotfix RPMs (6.14.2.first...) into dir, 10 to 200 files each
// (scale permitting), two at a time.
func (b *bench) makeRepoPackages(dir string, first, n int) error {
	stage := filepath.Join(b.tmp, "stage")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := first + w; i < first+n; i += 2 {
				if err := b.makeRepoPackage(dir, filepath.Join(stage, fmt.Sprint(w)), i); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (b *bench) makeRepoPackage(dir, stage string, i int) error {
	rng := rand.New(rand.NewPCG(uint64(i), 11))
	nf := b.sc.repoMinFiles + rng.IntN(b.sc.repoMaxF-b.sc.repoMinFiles+1)
	spec := input.Hotfix{
		Version: fmt.Sprintf("6.14.2.%d", i),
		Rels:    input.ModuleRels(fmt.Sprintf("Fix%04d_", i), nf, 25, 0),
		Sizes:   input.Sizes(nf, int64(nf)*b.sc.repoFileSize, rng),
		Seed:    uint64(i),
	}
	src := filepath.Join(stage, "src", "shop-hotfix-"+spec.Version)
	if err := input.WriteHotfix(src, spec); err != nil {
		return err
	}
	out := filepath.Join(stage, "out")
	res, err := packaging.Build(src, packaging.BuildOptions{Product: "shop", Time: buildTime, OutDir: out})
	if err != nil {
		return err
	}
	if err := os.Rename(res.RPM, filepath.Join(dir, filepath.Base(res.RPM))); err != nil {
		return err
	}
	os.Remove(res.Tarball)
	return os.RemoveAll(src)
}

// repoBenches runs the repo and update benchmarks on one generated repository.
func (b *bench) repoBenches() []result {
	const (
		fullWork = "repo metadata, %d RPMs"
		updWork  = "add one RPM to %d"
	)
	n := b.sc.repoPkgs
	fw, uw := fmt.Sprintf(fullWork, n), fmt.Sprintf(updWork, n)
	dir := filepath.Join(b.tmp, "repos", "6.14.2")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return []result{failed(fw, "createrepo_c", 0.8, "<= 0.8x", err)}
	}
	t := time.Now()
	if err := b.generate(fmt.Sprintf("repo-%d", n), func() error { return b.makeRepoPackages(dir, 1, n) }); err != nil {
		return []result{failed(fw, "createrepo_c", 0.8, "<= 0.8x", fmt.Errorf("generate packages: %w", err))}
	}
	size, files := dirSize(dir)
	b.logf("repo: %d packages, %s, in %s", files, measure.MiB(size), measure.Secs(time.Since(t)))
	inputs := fmt.Sprintf("%d hotfix RPMs of %d to %d files (%s in all, gzip payloads)", files, b.sc.repoMinFiles, b.sc.repoMaxF, measure.MiB(size))

	hcRepo := func(extra ...string) measure.Command {
		return measure.Command{Name: b.hotchain, Args: append(append([]string{"repo", "-product", "shop", "-base-url", "http://127.0.0.1:8000"}, extra...), dir)}
	}
	var rows []result
	if b.wants("repo") {
		rows = append(rows, b.repoFull(fw, dir, inputs, hcRepo))
	}
	if b.wants("update") {
		rows = append(rows, b.repoUpdate(uw, dir, n, hcRepo))
	}
	return rows
}

// sameXML has each tool write the metadata of dir afresh once more, createrepo_c first, and
// compares the open-checksums of primary, filelists and other.
func sameXML(dir string, fresh func() error, peer, hc measure.Command) string {
	written := func(c measure.Command) (string, error) {
		if err := fresh(); err != nil {
			return "", err
		}
		if _, err := measure.Run(c); err != nil {
			return "", err
		}
		return openChecksums(dir)
	}
	cr, err := written(peer)
	if err != nil {
		return "XML not compared with createrepo_c's: " + err.Error()
	}
	ours, err := written(hc)
	if err != nil {
		return "XML not compared with createrepo_c's: " + err.Error()
	}
	if cr != ours {
		return fmt.Sprintf("XML DIFFERS from createrepo_c's (open-checksums %s vs %s)", ours, cr)
	}
	return "Primary, filelists and other XML byte for byte the same as createrepo_c's (open-checksum)"
}

func (b *bench) repoFull(work, dir, inputs string, hcRepo func(...string) measure.Command) result {
	fresh := func() error { return measure.Settle(os.RemoveAll(filepath.Join(dir, "repodata"))) }
	peer := measure.Command{Name: "createrepo_c", Args: []string{"-q", "--no-database", dir}}
	hcS, peerS, err := measure.Pair(b.reps,
		measure.Side{Setup: fresh, Cmd: func() measure.Command { return hcRepo("-no-update") }},
		measure.Side{Setup: fresh, Cmd: func() measure.Command { return peer }})
	if err != nil {
		return failed(work, "createrepo_c", 0.8, "<= 0.8x", err)
	}
	same := sameXML(dir, fresh, peer, hcRepo("-no-update"))
	if b.pprofDir != "" && fresh() == nil {
		b.profile("repo", dir)
	}
	return result{
		work: work, peerName: "createrepo_c --no-database",
		hc: measure.Secs(measure.MedianWall(hcS)), peer: measure.Secs(measure.MedianWall(peerS)),
		ratio: ratio(hcS, peerS), goal: 0.8, goalText: "<= 0.8x",
		detail: fmt.Sprintf("%s. hotchain `%s`, runs %s; createrepo_c (default workers) runs %s. %s.",
			inputs, strings.Join(hcRepo("-no-update").Args, " "), measure.Spread(hcS), measure.Spread(peerS), same),
	}
}

func (b *bench) repoUpdate(work, dir string, n int, hcRepo func(...string) measure.Command) result {
	// The package to add, built once, kept outside the repository between runs.
	extra := filepath.Join(b.tmp, "extra")
	if err := os.MkdirAll(extra, 0o755); err != nil {
		return failed(work, "createrepo_c --update", 0.5, "<= 0.5x", err)
	}
	if err := b.generate(fmt.Sprintf("extra-%d", n+1), func() error { return b.makeRepoPackages(extra, n+1, 1) }); err != nil {
		return failed(work, "createrepo_c --update", 0.5, "<= 0.5x", err)
	}
	name := fmt.Sprintf("shop-hotfix-6_14_2_%d-1-0.noarch.rpm", n+1)
	added := filepath.Join(dir, name)
	// Each tool updates metadata it wrote itself, saved once and put back before every run.
	saved := map[string]string{}
	for tool, c := range map[string]measure.Command{
		"hotchain":     hcRepo("-no-update"),
		"createrepo_c": {Name: "createrepo_c", Args: []string{"-q", "--no-database", dir}},
	} {
		os.Remove(added)
		os.RemoveAll(filepath.Join(dir, "repodata"))
		if _, err := measure.Run(c); err != nil {
			return failed(work, "createrepo_c --update", 0.5, "<= 0.5x", err)
		}
		saved[tool] = filepath.Join(b.tmp, "repodata-"+tool)
		os.RemoveAll(saved[tool])
		if _, err := measure.Output("cp", "-a", filepath.Join(dir, "repodata"), saved[tool]); err != nil {
			return failed(work, "createrepo_c --update", 0.5, "<= 0.5x", err)
		}
	}
	setup := func(tool string) func() error {
		return func() error {
			os.Remove(added)
			if err := os.RemoveAll(filepath.Join(dir, "repodata")); err != nil {
				return err
			}
			if _, err := measure.Output("cp", "-a", saved[tool], filepath.Join(dir, "repodata")); err != nil {
				return err
			}
			return measure.Settle(os.Link(filepath.Join(extra, name), added))
		}
	}
	peer := measure.Command{Name: "createrepo_c", Args: []string{"-q", "--update", "--no-database", dir}}
	hcS, peerS, err := measure.Pair(b.reps,
		measure.Side{Setup: setup("hotchain"), Cmd: func() measure.Command { return hcRepo() }},
		measure.Side{Setup: setup("createrepo_c"), Cmd: func() measure.Command { return peer }})
	if err != nil {
		return failed(work, "createrepo_c --update", 0.5, "<= 0.5x", err)
	}
	// Did hotchain reuse the old entries and read only the new package?
	check := "not checked"
	if err := setup("hotchain")(); err == nil {
		if out, err := measure.Output(b.hotchain, hcRepo().Args...); err == nil {
			check = "hotchain says: " + firstMatch(out, `\d+ packages \(\d+ unchanged\)`)
		}
	}
	if b.pprofDir != "" && setup("hotchain")() == nil {
		b.profile("update", dir)
	}
	os.Remove(added)
	return result{
		work: work, peerName: "createrepo_c --update --no-database",
		hc: measure.Secs(measure.MedianWall(hcS)), peer: measure.Secs(measure.MedianWall(peerS)),
		ratio: ratio(hcS, peerS), goal: 0.5, goalText: "<= 0.5x",
		detail: fmt.Sprintf("each tool updates the metadata it wrote itself for the %d packages; hotchain `%s` runs %s, createrepo_c runs %s; %s.",
			n, strings.Join(hcRepo().Args, " "), measure.Spread(hcS), measure.Spread(peerS), check),
	}
}

func ratio(hc, peer []measure.Sample) float64 {
	return measure.MedianWall(hc).Seconds() / measure.MedianWall(peer).Seconds()
}

var openChecksumRE = regexp.MustCompile(`<data type="(\w+)">[\s\S]*?<open-checksum type="sha256">(\w+)</open-checksum>`)

// openChecksums is the open-checksums of primary, filelists and other in dir's repomd.xml:
// equal when the uncompressed XML is byte for byte the same.
func openChecksums(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		return "", err
	}
	m := map[string]string{}
	for _, x := range openChecksumRE.FindAllStringSubmatch(string(data), -1) {
		m[x[1]] = x[2][:12]
	}
	return fmt.Sprintf("primary %s filelists %s other %s", m["primary"], m["filelists"], m["other"]), nil
}

func firstMatch(s, re string) string {
	if m := regexp.MustCompile(re).FindString(s); m != "" {
		return m
	}
	return strings.TrimSpace(s)
}

// dirSize is the total size and number of regular files under dir.
func dirSize(dir string) (int64, int) {
	var size int64
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
				n++
			}
		}
		return nil
	})
	return size, n
}
