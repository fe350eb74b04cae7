package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxRead is how much of one log file Read reads: a file that grew past it (not by
// hotchain, which rotates at MaxSize) is read up to it, with a warning.
const MaxRead = 16 * MaxSize

// Line is one event read from a log, with its line as it is in the file.
type Line struct {
	Event
	Raw []byte // without the newline
}

// Read reads files in the order given (Log.Files: oldest first). What cannot be read as an
// event is skipped with a warning, never an error: a torn last line (the host lost power
// while it appended), a line longer than MaxLine, a line of another schema. Only a file that
// cannot be opened or read is an error.
func Read(files []string) (lines []Line, warnings []string, err error) {
	for _, p := range files {
		ls, ws, err := readFile(p)
		lines, warnings = append(lines, ls...), append(warnings, ws...)
		if err != nil {
			return lines, warnings, err
		}
	}
	return lines, warnings, nil
}

func readFile(p string) (lines []Line, warnings []string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read history: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, MaxRead), MaxLine+1)
	for n := 1; ; n++ {
		raw, err := br.ReadSlice('\n')
		long := false
		for errors.Is(err, bufio.ErrBufferFull) {
			long = true
			_, err = br.ReadSlice('\n')
		}
		if err == io.EOF {
			if len(raw) > 0 || long {
				if fi, serr := f.Stat(); serr == nil && fi.Size() > MaxRead {
					warnings = append(warnings, fmt.Sprintf("%s: read only the first %d bytes of %d (the history rotates at %d)", p, MaxRead, fi.Size(), MaxSize))
				} else {
					warnings = append(warnings, fmt.Sprintf("%s:%d: skipped a torn last line (the host stopped while it wrote it)", p, n))
				}
			}
			return lines, warnings, nil
		}
		if err != nil {
			return lines, warnings, fmt.Errorf("read history %s: %w", p, err)
		}
		if long {
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped a line longer than %d bytes", p, n, MaxLine))
			continue
		}
		raw = bytes.TrimSuffix(raw, []byte("\n"))
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // the newline Append puts after a torn line
		}
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped a line that is not a history event: %v", p, n, err))
			continue
		}
		if e.Schema != Schema {
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped a line of schema %q (this hotchain reads %s)", p, n, e.Schema, Schema))
			continue
		}
		lines = append(lines, Line{Event: e, Raw: bytes.Clone(raw)})
	}
}

// Hosts lists the hosts that have a log in dir, sorted.
func Hosts(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if i := strings.Index(name, ".jsonl"); i > 0 && !strings.HasSuffix(name, ".lock") && !strings.HasPrefix(name, ".") {
			seen[name[:i]] = true
		}
	}
	var hosts []string
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts, nil
}

// Merge orders the lines of several hosts by time; lines of one host keep their order.
func Merge(lines []Line) {
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Time.Before(lines[j].Time) })
}

// Dir is the history directory under LEDGER_DIR.
func Dir(ledgerDir string) string { return filepath.Join(ledgerDir, Subdir) }
