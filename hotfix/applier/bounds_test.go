package applier

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/hotfix/journal"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/sysconfig"
)

// TestOversizedFilesRefused: each file a host reads that someone else could have written or
// damaged is refused beyond its documented limit, with the file and the limit in the
// message, and refusing a 1 GiB file (sparse: it costs no disk) costs next to no memory.
func TestOversizedFilesRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  func(sb *sandbox, dir string) string // the file to blow up
		read  func(sb *sandbox, dir string) error
		what  string
		limit string
	}{
		{"version.txt", func(sb *sandbox, dir string) string { return filepath.Join(dir, "version.txt") },
			func(sb *sandbox, dir string) error { _, err := hotfix.ReadDir(dir); return err }, "hotfix version file", "4 KiB"},
		{"filelist.txt", func(sb *sandbox, dir string) string { return filepath.Join(dir, "filelist.txt") },
			func(sb *sandbox, dir string) error {
				return (&hotfix.Dir{Path: dir, HasFilelist: true}).CheckFilelist()
			}, "file list", "64 MiB"},
		{"ledger", func(sb *sandbox, dir string) string { return filepath.Join(sb.root, "etc/opt/shop/hotfix/host1.txt") },
			func(sb *sandbox, dir string) error { _, err := sb.host.Ledger().Read("host1.txt"); return err }, "ledger", "1 MiB"},
		{"journal", func(sb *sandbox, dir string) string { return journal.Path(dir, "host1") },
			func(sb *sandbox, dir string) error { _, err := journal.Read(journal.Path(dir, "host1")); return err }, "apply journal", "64 MiB"},
		{"apply with a huge journal", func(sb *sandbox, dir string) string { return journal.Path(dir, "host1") },
			func(sb *sandbox, dir string) error { return sb.host.Apply(context.Background(), dir, ApplyOptions{}) }, "apply journal", "64 MiB"},
		{"PRODUCT_VERSION_FILE", func(sb *sandbox, dir string) string { return filepath.Join(sb.root, "opt/shop/version.txt") },
			func(sb *sandbox, dir string) error {
				_, err := sb.host.ProductVersion(context.Background())
				return err
			}, "product version file (PRODUCT_VERSION_FILE)", "64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, sysconfig.RoleSingle)
			dir := sb.makeHotfix(hotfixSpec{version: "6.14.2.1", files: map[string]string{"FileChanges/lib/Shop/Core.pm": "core 2\n"}})
			big := tc.file(sb, dir)
			if err := os.MkdirAll(filepath.Dir(big), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(big, os.O_WRONLY|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(1 << 30)
			f.Close()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err = tc.read(sb, dir)
			runtime.ReadMemStats(&after)
			want := tc.what + " " + big + " is larger than " + tc.limit + ", the most hotchain reads of it: refused"
			if !boundedio.IsTooLarge(err) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("refusing a 1 GiB file allocated %d bytes", n)
			}
		})
	}
}
