package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The module's hygiene is checked by ordinary tests, so that CI, which runs the tests, keeps
// it: go vet is clean and go.mod and go.sum are tidy.

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestGoVet(t *testing.T) {
	if testing.Short() {
		t.Skip("go vet of the whole module")
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet ./...: %v\n%s", err, out)
	}
}

func TestGoModTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("go mod tidy -diff")
	}
	// The verdict is the exit status and the diff on standard output. Standard error is only
	// shown: with a cold module cache it holds "go: downloading" lines, which say nothing
	// about tidiness.
	cmd := exec.Command("go", "mod", "tidy", "-diff")
	cmd.Dir = moduleRoot(t)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || strings.TrimSpace(stdout.String()) != "" {
		t.Fatalf("go.mod or go.sum is not tidy (run go mod tidy): %v\n%s%s", err, stdout.String(), stderr.String())
	}
}
