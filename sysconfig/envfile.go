package sysconfig

import (
	"fmt"
	"os"
)

// ReadEnvFile reads a shell-style file of variables such as /etc/default/shop (the
// product's SCRIPT_ENV_FILE) with the settings file's rules, and returns its assignments as
// KEY=VALUE strings in file order. Nothing is run through a shell.
func ReadEnvFile(path string) ([]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	assigns, _, err := parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	env := make([]string, 0, len(assigns))
	for _, a := range assigns {
		env = append(env, a.key+"="+expand(a.value, nil))
	}
	return env, nil
}
