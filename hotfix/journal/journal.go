// Package journal holds the apply journal, Backup-<host>.journal in the hotfix directory:
// what an apply does (the entries it places and removes, the directories whose times it
// keeps, the scripts it ran) and the state it reached, so that a crash is recovered and a
// rollback undoes exactly that; its sibling files Backup-<host>/ (the backups) and
// Backup-<host>.inexistent (what the apply adds); and how all of it is read and written
// (atomically, bounded, every file name exact). It must not change the product tree, run
// anything or take a lock: the applier does that and records it here.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/hint"
)

// MaxSize bounds an apply journal (JSON): some hundreds of bytes for each entry of the
// hotfix, of which a tarball may hold 200,000.
const MaxSize = 64 << 20

// The states of an apply, in order, and of a rollback. The journal moves to a state only
// after everything the earlier state wrote is durable, so the state says what recovery may
// find: in StateBackup the product tree is untouched; from StateApply on, the backups are
// complete and the product tree may be anywhere between before and after.
const (
	StateBackup   = "backup"
	StateApply    = "apply"
	StateScripts  = "scripts"
	StateCheck    = "check" // files placed and scripts run: the health check decides
	StateLedger   = "ledger"
	StateDone     = "done"
	StateRollback = "rollback"
)

// Kinds of entries.
const (
	KindFile = "file"
	KindDir  = "dir"
	KindLink = "link"
)

// Op is one entry of a hotfix laid over a target root.
type Op struct {
	Tree   string `json:"tree"`   // change tree, e.g. FileChanges
	Rel    string `json:"rel"`    // path inside the tree, slash-separated
	Target string `json:"target"` // absolute, as the host sees it (without -root)
	Kind   string `json:"kind"`
	// Existed is the kind of entry the target was before the apply, "" when there was none.
	Existed string      `json:"existed,omitempty"`
	Mode    os.FileMode `json:"mode"`
	SHA256  string      `json:"sha256,omitempty"`
	Link    string      `json:"link,omitempty"`
	// Remove: the entry is one of FileRemovals, removed by the apply. Kind is what is
	// removed, Existed what was there ("" when it was absent already), Mode, SHA256 and Link
	// what it was. A journal without the field has no removals.
	Remove bool `json:"remove,omitempty"`

	// Names that are not valid UTF-8, in the journal file only (encodeNames).
	RelBase64    string `json:"rel_base64,omitempty"`
	TargetBase64 string `json:"target_base64,omitempty"`
	LinkBase64   string `json:"link_base64,omitempty"`
}

// In is o's path below dir, a tree of the hotfix's layout (the hotfix directory, or its
// Backup-<host>/): dir/<Tree>/<Rel>.
func (o Op) In(dir string) string { return filepath.Join(dir, o.Tree, filepath.FromSlash(o.Rel)) }

// DirTime is the modification time of a directory that existed before the apply and that
// the apply adds entries to; rollback puts it back.
type DirTime struct {
	Path    string    `json:"path"` // as the host sees it
	ModTime time.Time `json:"mtime"`

	PathBase64 string `json:"path_base64,omitempty"` // see encodeNames
}

// Journal is the apply's record, kept in the hotfix directory as Backup-<host>.journal. It
// survives a finished apply as the manifest that rollback and verify read.
type Journal struct {
	Version     string    `json:"version"`
	Host        string    `json:"host"`
	Role        string    `json:"role"`
	State       string    `json:"state"`
	Started     time.Time `json:"started"`
	Ops         []Op      `json:"ops"`
	Dirs        []DirTime `json:"dirs,omitempty"`
	ScriptsDone []string  `json:"scripts_done,omitempty"`
	// ScriptsDoneBase64 holds the names in ScriptsDone that are not valid UTF-8, in the
	// journal file only (encodeNames).
	ScriptsDoneBase64 []string `json:"scripts_done_base64,omitempty"`
	// RollbackFrom is the state a rollback started in.
	RollbackFrom string `json:"rollback_from,omitempty"`
	// Check: the apply runs a health check (StateCheck) before it writes the ledgers, so a
	// hotfix that fails it never reaches the ledgers, version.txt included.
	Check bool `json:"check,omitempty"`
	// Prepared: the apply stopped after its backups (ApplyOptions.Prepare); while it is
	// set, in StateApply, nothing has been placed. It is cleared, durably, before the first
	// entry is placed.
	Prepared bool `json:"prepared,omitempty"`
}

// PreparedOnly: the apply stopped after its backups (ApplyOptions.Prepare) and placed
// nothing; it is no interrupted apply, and a rollback drops its backups.
func (j *Journal) PreparedOnly() bool {
	return j.Prepared && (j.State == StateBackup || j.State == StateApply)
}

// Path is the journal of host's apply of the hotfix in hotfixDir.
func Path(hotfixDir, host string) string {
	return filepath.Join(hotfixDir, "Backup-"+host+".journal")
}

// BackupDir is where host's apply of the hotfix in hotfixDir keeps what it replaces.
func BackupDir(hotfixDir, host string) string {
	return filepath.Join(hotfixDir, "Backup-"+host)
}

// InexistentPath lists what host's apply of the hotfix in hotfixDir adds (hotfix.NameLines).
func InexistentPath(hotfixDir, host string) string {
	return filepath.Join(hotfixDir, "Backup-"+host+".inexistent")
}

// CheckBackupPath refuses a directory for backups (dir, below hotfixDir) that goes through
// a symlink: Backup-<host>/ and the directories in it are made by apply, never symlinks, and
// one in their place (found by a resumed apply or by a rollback) could lead anywhere, out of
// -root too.
func CheckBackupPath(hotfixDir, dir string) error {
	rel, err := filepath.Rel(hotfixDir, dir)
	if err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("backups in %s: not inside the hotfix directory %s", dir, hotfixDir)
	}
	cur := hotfixDir
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("backups in %s: %w", dir, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(cur)
			return hint.With(fmt.Errorf("backups in %s: %s is a symlink (-> %s), where hotchain made a directory", dir, cur, target),
				"remove the symlink; if the backups are where it points, move them back into a directory of that name first")
		}
	}
	return nil
}

// Read reads the journal at p, at most MaxSize of it.
func Read(p string) (*Journal, error) {
	data, err := boundedio.ReadFile(p, "apply journal", MaxSize)
	if err != nil {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("journal %s is damaged: %v", p, err)
	}
	if err := decodeNames(&j); err != nil {
		return nil, fmt.Errorf("journal %s is damaged: %v", p, err)
	}
	return &j, nil
}

// Write writes j to p atomically. A journal larger than Read reads (MaxSize) is refused
// before anything is written (CheckSize).
func Write(p string, j *Journal) error {
	data, err := encode(j)
	if err != nil {
		return err
	}
	if err := sizeOK(p, j, len(data)); err != nil {
		return err
	}
	return atomicfile.Write(p, data, 0o644)
}

// CheckSize refuses j when its file would be larger than Read reads (MaxSize): the journal
// of a hotfix that nobody could read again could never be rolled back. An apply checks its
// plan so before its first write; p names the journal in the error.
func CheckSize(p string, j *Journal) error {
	data, err := encode(j)
	if err != nil {
		return err
	}
	return sizeOK(p, j, len(data))
}

func encode(j *Journal) ([]byte, error) {
	data, err := json.MarshalIndent(encodeNames(j), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

func sizeOK(p string, j *Journal, size int) error {
	if size <= MaxSize {
		return nil
	}
	return hint.With(fmt.Errorf("apply journal %s: hotfix %s places or removes %d entries here, which need a journal of %d bytes, more than the %d a journal may hold; nothing was changed",
		p, j.Version, len(j.Ops), size, MaxSize),
		"the hotfix has too many entries (FileRemovals included) for one apply: ask the vendor to split it over several hotfixes")
}
