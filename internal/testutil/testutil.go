// Package testutil holds what the tests of several packages share: finding the real tools
// they run against. It lives under internal/ because only this module's tests may use it;
// nothing in the product imports it.
package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// RequireTool returns the path of a real tool the test runs against. On a developer machine
// a missing tool skips the test; in CI (CI set) it fails it, so that integration tests never
// pass by not running.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: run make deps", name)
		}
		t.Skipf("%s is not installed (make deps installs it)", name)
	}
	return p
}

// Allocated is how many bytes f allocates on the heap (runtime.MemStats.TotalAlloc), garbage
// included: what the bounds on untrusted input are measured with.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
