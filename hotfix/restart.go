package hotfix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/internal/boundedio"
)

// RestartFile is the optional file of a hotfix directory that says what must restart once
// the hotfix is applied: one line, "none", "services NAME...", "product" or "reboot".
// Without it nothing needs to restart. Blank lines and lines starting with # are comments.
const RestartFile = "restart.txt"

// The kinds of restart a hotfix may ask for, from the least to the most.
const (
	RestartNone     = "none"
	RestartServices = "services"
	RestartProduct  = "product"
	RestartReboot   = "reboot"
)

// MaxRestartFileSize bounds restart.txt: one line with some service names.
const MaxRestartFileSize = 4 << 10

// maxServiceName is the longest service name restart.txt may hold (systemd's unit names
// are at most 255 bytes).
const maxServiceName = 255

// Restart is what restart.txt asks for.
type Restart struct {
	Kind     string   // RestartNone, RestartServices, RestartProduct or RestartReboot
	Services []string // RestartServices only: the names, in the file's order, no duplicates
}

// Restart reads d's restart.txt: RestartNone when there is none. A file that is not one of
// the forms is an error that names the file and line.
func (d *Dir) Restart() (Restart, error) {
	return ReadRestart(filepath.Join(d.Path, RestartFile))
}

// ReadRestart reads a restart.txt at p (at most MaxRestartFileSize bytes).
func ReadRestart(p string) (Restart, error) {
	data, err := boundedio.ReadFile(p, "restart requirement", MaxRestartFileSize)
	if errors.Is(err, os.ErrNotExist) {
		return Restart{Kind: RestartNone}, nil
	}
	if err != nil {
		return Restart{}, err
	}
	return ParseRestart(p, string(data))
}

// ParseRestart parses the content of a restart.txt; p names it in errors.
func ParseRestart(p, text string) (Restart, error) {
	bad := func(n int, format string, args ...any) error {
		return &RestartError{Path: p, Line: n, What: fmt.Sprintf(format, args...)}
	}
	var r Restart
	seen := 0
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if seen++; seen > 1 {
			return Restart{}, bad(n, "a second requirement %q: the file holds one line", line)
		}
		words := strings.Fields(line)
		switch words[0] {
		case RestartNone, RestartProduct, RestartReboot:
			if len(words) > 1 {
				return Restart{}, bad(n, "%q takes no names, got %q", words[0], strings.Join(words[1:], " "))
			}
			r.Kind = words[0]
		case RestartServices:
			if len(words) == 1 {
				return Restart{}, bad(n, "\"services\" needs at least one service name")
			}
			r.Kind = RestartServices
			for _, s := range words[1:] {
				if why := badServiceName(s); why != "" {
					return Restart{}, bad(n, "service name %q %s", s, why)
				}
				if !slices.Contains(r.Services, s) {
					r.Services = append(r.Services, s)
				}
			}
		default:
			return Restart{}, bad(n, "%q is not a requirement", words[0])
		}
	}
	if r.Kind == "" {
		r.Kind = RestartNone
	}
	return r, nil
}

// RestartError is a restart.txt that is not one of its forms.
type RestartError struct {
	Path string
	Line int
	What string
}

func (e *RestartError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.What) }

// Hint says what the file may hold.
func (e *RestartError) Hint() string {
	return "restart.txt holds one line: none, services NAME..., product or reboot (service names of letters, digits and :_.@-)"
}

// badServiceName says what is wrong with a service name, "" when nothing: the characters
// of a systemd unit name, not starting with a dash (it would read as an option).
func badServiceName(s string) string {
	if len(s) > maxServiceName {
		return fmt.Sprintf("is longer than %d bytes", maxServiceName)
	}
	if strings.HasPrefix(s, "-") {
		return "starts with a dash"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(":_.@-", c)) {
			return fmt.Sprintf("holds %q: only letters, digits and :_.@- are allowed", c)
		}
	}
	return ""
}

// RestartRank orders the kinds: none < services < product < reboot.
func RestartRank(kind string) int {
	switch kind {
	case RestartServices:
		return 1
	case RestartProduct:
		return 2
	case RestartReboot:
		return 3
	}
	return 0
}
