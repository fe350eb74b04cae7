package unpack

import (
	"fmt"

	"github.com/hotchain/hotchain/hotfix"
)

// NameProblem says why the file name of a tarball or bundle (or its .sig) that arrives
// from outside, in the drop folder, cannot be taken; "" when it can. A name that holds a
// control character (a newline, a carriage return, an escape) cannot be taken: the name goes
// into the import's .repo file, the log and the report, each of them lines of text.
func NameProblem(name string) string {
	if !hotfix.HasControl(name) {
		return ""
	}
	return fmt.Sprintf("%s holds a control character (a newline, a tab): rename it; its name goes into logs, reports and the import's repository file", hotfix.ShownName(name))
}
