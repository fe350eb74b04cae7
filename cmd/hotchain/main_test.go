package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/hotchain/hotchain/internal/testutil"

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

// tree records every entry under dir, directory times included.
func tree(ts *testscript.TestScript, dir string) map[string]testutil.TreeEntry {
	m, err := testutil.ReadTree(dir, true, ".")
	if err != nil {
		ts.Fatalf("%v", err)
	}
	return m
}

var snaps sync.Map // work dir + name -> tree listing

// snap NAME DIR records every entry under DIR: kind, mode, owner, content and mtime.
func cmdSnap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: snap NAME DIR")
	}
	snaps.Store(ts.Getenv("WORK")+"\x00"+args[0], tree(ts, ts.MkAbs(args[1])))
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
	diff := testutil.DiffTrees(v.(map[string]testutil.TreeEntry), tree(ts, ts.MkAbs(args[1])))
	switch {
	case neg && diff == "":
		ts.Fatalf("%s is unchanged", args[1])
	case !neg && diff != "":
		ts.Fatalf("%s changed since snap %s:\n%s", args[1], args[0], diff)
	}
}
