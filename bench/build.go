package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotchain/hotchain/bench/internal/input"
	"github.com/hotchain/hotchain/bench/internal/measure"
)

// The build benchmark: one hotfix RPM of 1,000 files and 50 MB, with hotchain build and
// with rpmbuild -bb from a spec that packages the same directory the same way.

// specTemplate is what a vendor would write for rpmbuild: the hotfix directory under the
// patches directory, the same dependencies and scriptlets as hotchain's package, no
// automatic dependencies (hotchain computes none) and no post-install processing
// (strip, compress man pages, build ids: nothing of it applies to a hotfix). The payload
// is gzip level 6, as in hotchain's packages (PAYLOADFLAGS 6).
const specTemplate = `%%define _binary_payload w6.gzdio
%%define __os_install_post %%{nil}
%%define debug_package %%{nil}
%%define _build_id_links none
Name: shop-hotfix-6_14_2_1
Version: 1
Release: 0
Summary: %[1]s
License: Proprietary
BuildArch: noarch
AutoReqProv: no
Requires(pre,post,preun): shop-hotfix-base

%%description
%[1]s

%%install
mkdir -p %%{buildroot}/var/opt/shop/Patches
cp -a %[2]s %%{buildroot}/var/opt/shop/Patches/shop-hotfix-6.14.2.1

%%files
%%defattr(-,root,root,-)
/var/opt/shop/Patches/shop-hotfix-6.14.2.1

%%pre
%[3]s
%%post
%[4]s
%%preun
%[5]s
`

func (b *bench) buildBench() []result {
	const work = "build one RPM, %d files / %s"
	w := fmt.Sprintf(work, b.sc.buildFiles, measure.MiB(b.sc.buildBytes))
	rw := "build: peak RSS / payload"
	fail := func(err error) []result {
		return []result{failed(w, "rpmbuild -bb", 0.5, "<= 0.5x", err), failed(rw, "payload size", 1.5, "<= 1.5x", err)}
	}
	src := filepath.Join(b.tmp, "build", "src", "shop-hotfix-6.14.2.1")
	rng := rand.New(rand.NewPCG(50, 1000))
	n := b.sc.buildFiles
	spec := input.Hotfix{Version: "6.14.2.1", Rels: input.ModuleRels("Mod", n, 40, 0), Sizes: input.Sizes(n, b.sc.buildBytes, rng), Seed: 50}
	if err := b.generate(fmt.Sprintf("build-%d-%d", n, b.sc.buildBytes), func() error { return input.WriteHotfix(src, spec) }); err != nil {
		return fail(err)
	}
	payload, files := dirSize(src)

	// hotchain's side.
	out := filepath.Join(b.tmp, "build", "out")
	hc := measure.Command{Name: b.hotchain, Args: []string{"build", "-product", "shop", "-out", out, src}, Env: []string{"SOURCE_DATE_EPOCH=1767323045"}}
	cleanHC := func() error { return measure.Settle(os.RemoveAll(out)) }
	hcRPM := filepath.Join(out, "shop-hotfix-6_14_2_1-1-0.noarch.rpm")

	// rpmbuild's side, with the scriptlets of hotchain's package.
	if _, err := measure.Run(hc); err != nil {
		return fail(err)
	}
	var scripts []string
	for _, tag := range []string{"PREIN", "POSTIN", "PREUN"} {
		s, err := measure.Output("rpm", "-qp", "--qf", "%{"+tag+"}", hcRPM)
		if err != nil {
			return fail(err)
		}
		scripts = append(scripts, s)
	}
	top := filepath.Join(b.tmp, "build", "rpmbuild")
	if err := os.MkdirAll(filepath.Join(top, "SPECS"), 0o755); err != nil {
		return fail(err)
	}
	summary := "SHOP-61421 Cart total is wrong with discounts"
	specFile := filepath.Join(top, "SPECS", "hotfix.spec")
	if err := os.WriteFile(specFile, []byte(fmt.Sprintf(specTemplate, summary, src, scripts[0], scripts[1], scripts[2])), 0o644); err != nil {
		return fail(err)
	}
	rpmbuild := measure.Command{Name: "rpmbuild", Args: []string{"-bb", "--quiet", "--define", "_topdir " + top, specFile}, Env: []string{"SOURCE_DATE_EPOCH=1767323045"}}
	cleanRB := func() error {
		for _, d := range []string{"RPMS", "BUILD", "BUILDROOT", "SRPMS"} {
			if err := os.RemoveAll(filepath.Join(top, d)); err != nil {
				return err
			}
		}
		return measure.Settle(nil)
	}

	hcS, peerS, err := measure.Pair(b.reps, measure.Side{Setup: cleanHC, Cmd: func() measure.Command { return hc }}, measure.Side{Setup: cleanRB, Cmd: func() measure.Command { return rpmbuild }})
	if err != nil {
		return fail(err)
	}

	// The two packages hold the same files, and hotchain's passes rpm's own checks.
	check := b.compareBuilds(hcRPM, filepath.Join(top, "RPMS", "noarch", "shop-hotfix-6_14_2_1-1-0.noarch.rpm"))

	if b.pprofDir != "" && cleanHC() == nil {
		b.profile("build", src, out)
	}

	rss := measure.MedianRSS(hcS)
	return []result{{
		work: w, peerName: "rpmbuild -bb, w6.gzdio",
		hc: measure.Secs(measure.MedianWall(hcS)), peer: measure.Secs(measure.MedianWall(peerS)),
		ratio: ratio(hcS, peerS), goal: 0.5, goalText: "<= 0.5x",
		detail: fmt.Sprintf("%d files, %s of content (generated source-like text). hotchain `build` writes the RPM *and* the tarball (`%s`), runs %s; rpmbuild runs %s, spec: AutoReqProv no, no __os_install_post, payload w6.gzdio (gzip level 6: hotchain's PAYLOADFLAGS is 6 too, though its compressor is klauspost/pgzip, not zlib), %%install is `cp -a` of the hotfix directory. %s.",
			files, measure.MiB(payload), strings.Join(hc.Args[:len(hc.Args)-1], " "), measure.Spread(hcS), measure.Spread(peerS), check),
	}, {
		work: rw, peerName: "payload size",
		hc: measure.MiB(rss), peer: measure.MiB(payload),
		ratio: float64(rss) / float64(payload), goal: 1.5, goalText: "<= 1.5x",
		detail: fmt.Sprintf("peak RSS of the hotchain process (GNU time's %%M, median of %d); rpmbuild's own peak was %s.", len(hcS), measure.MiB(measure.MedianRSS(peerS))),
	}}
}

// compareBuilds checks hotchain's RPM with rpm -K and rpm2cpio | cpio -t, and compares
// its file list with rpmbuild's.
func (b *bench) compareBuilds(hcRPM, rbRPM string) string {
	var notes []string
	if out, err := measure.Output("rpm", "-K", "--nosignature", hcRPM); err != nil {
		notes = append(notes, "rpm -K FAILED: "+strings.TrimSpace(out))
	} else {
		notes = append(notes, "rpm -K: digests OK")
	}
	if out, err := measure.Output("sh", "-c", "rpm2cpio \"$1\" | cpio -t --quiet | wc -l", "sh", hcRPM); err != nil {
		notes = append(notes, "rpm2cpio | cpio -t FAILED")
	} else {
		notes = append(notes, "rpm2cpio | cpio -t lists "+strings.TrimSpace(out)+" entries")
	}
	hl, err1 := measure.Output("rpm", "-qlp", hcRPM)
	rl, err2 := measure.Output("rpm", "-qlp", rbRPM)
	if err1 == nil && err2 == nil {
		a, c := sortedLines(hl), sortedLines(rl)
		if a == c {
			notes = append(notes, "same file list as rpmbuild's package")
		} else {
			notes = append(notes, "file list differs from rpmbuild's package")
		}
	}
	if fi, err := os.Stat(hcRPM); err == nil {
		if fr, err := os.Stat(rbRPM); err == nil {
			notes = append(notes, fmt.Sprintf("package sizes: hotchain %s, rpmbuild %s", measure.MiB(fi.Size()), measure.MiB(fr.Size())))
		}
	}
	return strings.Join(notes, "; ")
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}
