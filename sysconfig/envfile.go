package sysconfig

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ReadEnvFile returns the variables that a shell-style file such as /etc/default/shop (the
// product's SCRIPT_ENV_FILE) sets, as KEY=VALUE strings. The file is sourced by sh with
// `set -a`, as the original install scripts did (`. /etc/default/shop`), so that its
// assignments may refer to each other ($SHOP/Cartridges) and to the environment. Only
// variables the file adds or changes are returned. A missing file is an error that
// os.IsNotExist recognises.
func ReadEnvFile(path string) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	cmd := exec.Command("sh", "-c", `set -a; . "$1" || exit 1; exec env -0`, "sh", path)
	cmd.Stdin = strings.NewReader("") // not /dev/null: an installroot may have none
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("read %s with sh: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
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
