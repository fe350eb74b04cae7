package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotchain/hotchain/bench/internal/input"
	"github.com/hotchain/hotchain/bench/internal/measure"
)

// The apply benchmark: a hotfix of 10,000 files and 200 MB, three quarters of which replace
// product files, applied with backups, against the I/O floor of doing the same by hand:
// cp -a of the files it replaces into a backup folder, then cp -a of its files over the
// product tree.

const applyPerDir = 40

func (b *bench) applyBench() []result {
	work := fmt.Sprintf("apply %d files / %s with backups", b.sc.applyFiles, measure.MiB(b.sc.applyBytes))
	const peerName = "cp -a backups + cp -a new files"
	fail := func(err error) []result { return []result{failed(work, peerName, 1.5, "<= 1.5x", err)} }

	base := filepath.Join(b.tmp, "apply")
	pristine := filepath.Join(base, "pristine") // a host root as it is before the apply
	const patches = "var/opt/shop/Patches"
	const hotfixName = "shop-hotfix-6.14.2.1"

	n := b.sc.applyFiles
	nRepl := int(float64(n) * b.sc.applyReplaced)
	rng := rand.New(rand.NewPCG(200, 10000))
	replaced := input.ModuleRels("Mod", nRepl, applyPerDir, 0)
	added := input.ModuleRels("New", n-nRepl, applyPerDir, 0)
	rels := append(append([]string{}, replaced...), added...)
	spec := input.Hotfix{Version: "6.14.2.1", Rels: rels, Sizes: input.Sizes(n, b.sc.applyBytes, rng), Seed: 200, NoScripts: true}
	err := b.generate(fmt.Sprintf("apply-%d-%d", n, b.sc.applyBytes), func() error {
		if err := input.WriteHotfix(filepath.Join(pristine, patches, hotfixName), spec); err != nil {
			return err
		}
		// The product: the files the hotfix replaces (older versions, about the same sizes)
		// and as many again that it leaves alone.
		prod := filepath.Join(pristine, "opt/shop")
		oldRng := rand.New(rand.NewPCG(201, 1))
		for i, rel := range replaced {
			if err := input.WriteFile(filepath.Join(prod, filepath.FromSlash(rel)), spec.Sizes[i]*9/10+1, oldRng); err != nil {
				return err
			}
		}
		for _, rel := range input.ModuleRels("Keep", nRepl, applyPerDir, 0) {
			if err := input.WriteFile(filepath.Join(prod, filepath.FromSlash(rel)), 2000, oldRng); err != nil {
				return err
			}
		}
		cfg := "PRODUCT=shop\nHOSTNAME=benchhost\nRANDOMWAIT=0\n"
		for rel, text := range map[string]string{"etc/sysconfig/shop-hotfix": cfg, "opt/shop/version.txt": "6.14.2\n"} {
			p := filepath.Join(pristine, rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	hfBytes, hfFiles := dirSize(filepath.Join(pristine, patches, hotfixName, "FileChanges"))

	// Every run gets a fresh copy of the pristine host, all made before the first run:
	// written back to disk (neither side pays for writing back the copies) and left to
	// settle for a while, because ext4 passes over the inodes of files deleted in the last
	// seconds when it allocates new ones, which would slow both sides down in a way no host
	// sees (cp -a less than hotchain, which creates every file anew).
	hosts, err := b.freshHosts(base, pristine, 2*(b.slowReps+1)+2)
	defer removeAll(hosts)
	if err != nil {
		return fail(err)
	}
	host := ""
	taken := 0
	fresh := func() error {
		host = hosts[taken]
		taken++
		return nil
	}
	hfDir := func() string { return filepath.Join(host, patches, hotfixName) }
	hc := func() measure.Command {
		return measure.Command{Name: b.hotchain, Args: []string{"apply", "-root", host, "-config", "/etc/sysconfig/shop-hotfix", hfDir()}}
	}
	var replacedDirs []string
	for _, rel := range replaced {
		d := filepath.Join("opt/shop", filepath.Dir(filepath.FromSlash(rel)))
		if len(replacedDirs) == 0 || replacedDirs[len(replacedDirs)-1] != d {
			replacedDirs = append(replacedDirs, d)
		}
	}
	peer := func() measure.Command {
		backup := filepath.Join(hfDir(), "Backup-byhand/FileChanges/lib/Shop")
		var dirs []string
		for _, d := range replacedDirs {
			dirs = append(dirs, filepath.Join(host, d))
		}
		script := fmt.Sprintf("mkdir -p %s && cp -a %s %s/ && cp -a %s/FileChanges/. %s/",
			backup, strings.Join(dirs, " "), backup, hfDir(), filepath.Join(host, "opt/shop"))
		return measure.Command{Name: "sh", Args: []string{"-c", script}}
	}

	hcS, peerS, err := measure.Pair(b.slowReps, measure.Side{Setup: fresh, Cmd: hc}, measure.Side{Setup: fresh, Cmd: peer})
	if err != nil {
		return fail(err)
	}

	// hotchain's result checked by hotchain verify, and profiled in-process.
	check := "not verified"
	if err := fresh(); err == nil {
		if _, err := measure.Run(hc()); err == nil {
			if out, err := measure.Output(b.hotchain, "verify", "-root", host, "-config", "/etc/sysconfig/shop-hotfix"); err == nil {
				check = "hotchain verify after an apply: " + firstLine(out)
			} else {
				check = "hotchain verify FAILED: " + firstLine(out)
			}
		}
	}
	if b.pprofDir != "" && fresh() == nil {
		b.profile("apply", host, "/etc/sysconfig/shop-hotfix", hfDir())
	}

	return []result{{
		work: work, peerName: peerName,
		hc: measure.Secs(measure.MedianWall(hcS)), peer: measure.Secs(measure.MedianWall(peerS)),
		ratio: ratio(hcS, peerS), goal: 1.5, goalText: "<= 1.5x",
		detail: fmt.Sprintf("%d files, %s in the hotfix: %d replace product files, %d are new (in new directories); the product has as many files again that the hotfix leaves alone. Each run has a fresh copy of the host, all made before the first run, written back with `sync` and left %s to settle. hotchain `apply` (filelist check, plan, journal, backups, placing, one syncfs per phase, ledger) runs %s; the floor, `%s` with the %d directories of replaced files, runs %s (no sync). %s.",
			hfFiles, measure.MiB(hfBytes), nRepl, n-nRepl, b.sc.quiesce, measure.Spread(hcS), "mkdir -p B && cp -a DIRS B/ && cp -a HOTFIX/FileChanges/. ROOT/", len(replacedDirs), measure.Spread(peerS), check),
	}}
}

// freshHosts makes n copies of the host tree pristine under base (host-0 ...), one for each
// run, all made before the first run, written back to disk and left to settle (quiesce):
// ext4 passes over the inodes of files deleted in the last seconds when it allocates new
// ones, which would slow both sides down in a way no host sees. The copies made so far are
// returned with an error too, so that the caller removes them.
func (b *bench) freshHosts(base, pristine string, n int) ([]string, error) {
	var hosts []string
	for i := 0; i < n; i++ {
		h := filepath.Join(base, fmt.Sprintf("host-%d", i))
		os.RemoveAll(h)
		hosts = append(hosts, h)
		if _, err := measure.Output("cp", "-a", pristine, h); err != nil {
			return hosts, err
		}
	}
	if err := measure.Settle(nil); err != nil {
		return hosts, err
	}
	time.Sleep(b.sc.quiesce)
	return hosts, nil
}

func removeAll(paths []string) {
	for _, p := range paths {
		os.RemoveAll(p)
	}
}
