package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hotchain": func() { os.Exit(mainWithExit()) },
	})
}

// TestScripts pins the command-line contract: exit status, stdout, stderr and the files
// left behind, for every host-side command and refusal.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"snap": cmdSnap,
			"same": cmdSame,
			"code": cmdCode,
		},
		RequireExplicitExec: true,
	})
}

// code N CMD ARGS runs CMD as exec does and fails unless it exits with status N: `! exec`
// only says "not zero", and the exit statuses are part of the contract.
func cmdCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: code N CMD [ARGS]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("code: %q is not an exit status", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var x *exec.ExitError
		if !errors.As(err, &x) {
			ts.Fatalf("code: %v", err)
		}
		got = x.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

var snaps sync.Map // work dir + name -> tree listing

// snap NAME DIR records every entry under DIR: kind, mode, owner, content and mtime.
func cmdSnap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: snap NAME DIR")
	}
	snaps.Store(ts.Getenv("WORK")+"\x00"+args[0], treeListing(ts, ts.MkAbs(args[1])))
}

// same NAME DIR fails unless DIR is exactly as snap NAME recorded it.
func cmdSame(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: same NAME DIR")
	}
	v, ok := snaps.Load(ts.Getenv("WORK") + "\x00" + args[0])
	if !ok {
		ts.Fatalf("no snapshot %s", args[0])
	}
	was, now := v.([]string), treeListing(ts, ts.MkAbs(args[1]))
	diff := listingDiff(was, now)
	switch {
	case neg && diff == "":
		ts.Fatalf("%s is unchanged", args[1])
	case !neg && diff != "":
		ts.Fatalf("%s changed since snap %s:\n%s", args[1], args[0], diff)
	}
}

func treeListing(ts *testscript.TestScript, dir string) []string {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		content := ""
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			content = hex.EncodeToString(sum[:8])
		case fi.Mode()&fs.ModeSymlink != 0:
			content, _ = os.Readlink(p)
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, fmt.Sprintf("%s %v %d:%d %s %d", rel, fi.Mode(), st.Uid, st.Gid, content, fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		ts.Fatalf("%v", err)
	}
	sort.Strings(lines)
	return lines
}

func listingDiff(a, b []string) string {
	in := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var d []string
	for _, s := range a {
		if !mb[s] {
			d = append(d, "- "+s)
		}
	}
	for _, s := range b {
		if !ma[s] {
			d = append(d, "+ "+s)
		}
	}
	return strings.Join(d, "\n")
}
