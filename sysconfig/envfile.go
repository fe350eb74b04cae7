package sysconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/filetrust"
)

// ReadEnvFile returns the variables that a shell-style file such as /etc/default/shop (the
// product's SCRIPT_ENV_FILE) sets, as KEY=VALUE strings. The file is sourced by sh with
// `set -a`, as the original install scripts did (`. /etc/default/shop`), so that its
// assignments may refer to each other ($SHOP/Cartridges) and to the environment. Only
// variables the file adds or changes are returned. A missing file is an error that
// os.IsNotExist recognises.
//
// sh runs it as root: as root, a file that another user could have written is refused
// (filetrust.Check), and so is one larger than MaxEnvFileSize, or one that makes sh print
// more than maxEnvOutput.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := filetrust.Check(f, path, "SCRIPT_ENV_FILE"); err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if fi.Size() > MaxEnvFileSize {
		return nil, &boundedio.TooLargeError{What: "SCRIPT_ENV_FILE", Path: path, Limit: MaxEnvFileSize}
	}
	cmd := exec.Command("sh", "-c", `set -a; . "$1" || exit 1; exec env -0`, "sh", path)
	cmd.Stdin = strings.NewReader("") // not /dev/null: an installroot may have none
	stdout, stderr := &capBuffer{limit: maxEnvOutput}, &capBuffer{limit: 64 << 10, drop: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	if stdout.over {
		return nil, &boundedio.TooLargeError{What: "environment sh printed for SCRIPT_ENV_FILE", Path: path, Limit: maxEnvOutput}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s with sh: %v: %s", path, err, strings.TrimSpace(stderr.b.String()))
	}
	out := stdout.b.Bytes()
	before := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		before[k] = v
	}
	var env []string
	for _, kv := range strings.Split(string(out), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "_" || k == "SHLVL" || k == "PWD" || k == "OLDPWD" {
			continue
		}
		if old, had := before[k]; !had || old != v {
			env = append(env, kv)
		}
	}
	return env, nil
}

// capBuffer keeps the first limit bytes written to it. A write beyond them fails, which
// ends the copy from the command (and the command, on its next write), unless drop is
// set: then the rest is dropped (for stderr, which is only shown).
type capBuffer struct {
	b     bytes.Buffer
	limit int
	drop  bool
	over  bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.limit - c.b.Len(); len(p) > room {
		c.b.Write(p[:room])
		c.over = true
		if c.drop {
			return len(p), nil
		}
		return room, errors.New("output too long")
	}
	return c.b.Write(p)
}
