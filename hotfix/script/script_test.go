package script

import (
	"reflect"
	"testing"

	"github.com/hotchain/hotchain/sysconfig"
)

// TestScriptsFor: each role runs its own scripts of a phase, in byte order; on a single host
// the -final scripts come last, and only the alpha runs them in finalize.
func TestScriptsFor(t *testing.T) {
	names := []string{"90-cache-final.sh", "10-db-shared.PL", "20-files.sh", "30-conf-local.pl", "05-check", "80-reindex-final.PL", "15-B.sh", "15-a.sh"}
	for _, tc := range []struct {
		role  sysconfig.Role
		phase Phase
		want  []string
	}{
		{sysconfig.RoleSingle, PhaseInstall, []string{"05-check", "10-db-shared.PL", "15-B.sh", "15-a.sh", "20-files.sh", "30-conf-local.pl", "80-reindex-final.PL", "90-cache-final.sh"}},
		{sysconfig.RoleAlpha, PhaseInstall, []string{"05-check", "10-db-shared.PL", "15-B.sh", "15-a.sh", "20-files.sh"}},
		{sysconfig.RoleSecondary, PhaseInstall, []string{"05-check", "15-B.sh", "15-a.sh", "20-files.sh", "30-conf-local.pl"}},
		{sysconfig.RoleAlpha, PhaseFinalize, []string{"80-reindex-final.PL", "90-cache-final.sh"}},
		{sysconfig.RoleSecondary, PhaseFinalize, nil},
		{sysconfig.RoleSingle, PhaseFinalize, nil},
	} {
		if got := For(tc.role, tc.phase, names); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("For(%s, %d) = %v, want %v", tc.role, tc.phase, got, tc.want)
		}
	}
}
