package hotfix

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
)

// Ledger is the record of applied hotfixes in LEDGER_DIR (SPEC section 3): <host>.txt for
// each host, version.txt for the installation as a whole, and finalized.txt for the versions
// whose -final scripts the alpha has run.
type Ledger struct {
	Dir string // LEDGER_DIR, as this process sees it (joined with -root)
}

// The installation-wide ledger files.
const (
	InstallationLedger = "version.txt"
	FinalizedLedger    = "finalized.txt"
)

// HostFile is the file name of a host's ledger.
func HostFile(host string) string { return host + ".txt" }

// Read returns the versions in one ledger file, in order; a missing file is an empty ledger.
func (l Ledger) Read(name string) ([]Version, error) {
	p := filepath.Join(l.Dir, name)
	data, err := boundedio.ReadFile(p, "ledger", MaxLedgerSize)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if boundedio.IsTooLarge(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	var vs []Version
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := ParseHotfixVersion(line)
		if err != nil {
			return nil, fmt.Errorf("ledger %s:%d: %w (fix or remove the line)", p, n, err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// Has reports whether the ledger file name holds v.
func (l Ledger) Has(name string, v Version) (bool, error) {
	vs, err := l.Read(name)
	if err != nil {
		return false, err
	}
	return contains(vs, v), nil
}

// Add appends v to the ledger file name unless it is there already. The file is rewritten
// atomically, so a crash leaves either the old list or the new one.
func (l Ledger) Add(name string, v Version) error {
	vs, err := l.Read(name)
	if err != nil {
		return err
	}
	if contains(vs, v) {
		return nil
	}
	return l.write(name, append(vs, v))
}

// Remove takes v out of the ledger file name (nothing happens when it is not there).
func (l Ledger) Remove(name string, v Version) error {
	vs, err := l.Read(name)
	if err != nil {
		return err
	}
	kept := vs[:0:0]
	for _, w := range vs {
		if !w.Equal(v) {
			kept = append(kept, w)
		}
	}
	if len(kept) == len(vs) {
		return nil
	}
	return l.write(name, kept)
}

func (l Ledger) write(name string, vs []Version) error {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("ledger directory: %w", err)
	}
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	return atomicfile.Write(filepath.Join(l.Dir, name), []byte(b.String()), 0o644)
}

func contains(vs []Version, v Version) bool {
	for _, w := range vs {
		if w.Equal(v) {
			return true
		}
	}
	return false
}

// Newest is the last version of a ledger list; ok is false for an empty one.
func Newest(vs []Version) (Version, bool) {
	if len(vs) == 0 {
		return nil, false
	}
	return vs[len(vs)-1], true
}
