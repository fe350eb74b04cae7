package sysconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hotchain/hotchain/internal/boundedio"
)

// sysconfigDir is where the settings files of hotfix-enabled products live (host view).
const sysconfigDir = "/etc/sysconfig"

// Locate finds the settings file when -config is not given: $HOTCHAIN_CONFIG from
// environ, else the single /etc/sysconfig/*-hotfix file (inside root) that sets PRODUCT.
// None or more than one is an error that lists what it found and says to pass -config.
// The path returned is host view, like a -config argument.
func Locate(root string, environ []string) (string, error) {
	if p, _ := LookupEnv(environ, "HOTCHAIN_CONFIG"); p != "" {
		if _, err := os.Stat(inRoot(root, p)); err != nil {
			return "", &locateError{fmt.Sprintf("settings file named by HOTCHAIN_CONFIG: %v", err)}
		}
		return p, nil
	}
	where := sysconfigDir
	if root != "" && root != "/" {
		where = fmt.Sprintf("%s inside %s", sysconfigDir, root)
	}
	entries, err := os.ReadDir(inRoot(root, sysconfigDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("look for settings files: %w", err)
	}
	var setting, other []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, "-hotfix") || name == "-hotfix" {
			continue
		}
		p := filepath.Join(sysconfigDir, name)
		full := inRoot(root, p)
		fi, err := os.Stat(full)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
			continue // a dangling symlink, a directory: no candidate
		}
		var src []byte
		if err == nil {
			src, err = boundedio.ReadFile(full, "settings file", MaxSettingsSize)
		}
		if err != nil {
			return "", fmt.Errorf("look for settings files: %w", err)
		}
		if setsProduct(src) {
			setting = append(setting, p)
		} else {
			other = append(other, p)
		}
	}
	sort.Strings(setting)
	sort.Strings(other)
	switch {
	case len(setting) == 1:
		return setting[0], nil
	case len(setting) > 1:
		return "", &locateError{fmt.Sprintf("%d settings files set PRODUCT in %s: %s; pass -config FILE to choose one",
			len(setting), where, strings.Join(setting, ", "))}
	case len(other) > 0:
		return "", &locateError{fmt.Sprintf("no settings file: none of %s sets PRODUCT; pass -config FILE or set HOTCHAIN_CONFIG",
			strings.Join(other, ", "))}
	}
	return "", &locateError{fmt.Sprintf("no settings file: no *-hotfix file in %s; pass -config FILE or set HOTCHAIN_CONFIG", where)}
}

// setsProduct reports whether a settings file has a PRODUCT= line. Lines that do not
// parse are skipped: Load reports them once the file is chosen.
func setsProduct(src []byte) bool {
	for _, line := range strings.Split(strings.TrimPrefix(string(src), "\uFEFF"), "\n") {
		if a, ok, _, e := parseLine(line); e == nil && ok && a.key == "PRODUCT" {
			return true
		}
	}
	return false
}
