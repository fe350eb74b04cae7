package sysconfig

import (
	"errors"
	"fmt"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/filetrust"
)

// The most hotchain reads of the files of this package; more is refused with an error
// that names the file and the limit.
const (
	// MaxSettingsSize bounds the settings file: the documented template is some 10 KB.
	MaxSettingsSize = 1 << 20
	// MaxEnvFileSize bounds SCRIPT_ENV_FILE, a few shell assignments.
	MaxEnvFileSize = 1 << 20
	// maxEnvOutput bounds what sh prints after sourcing SCRIPT_ENV_FILE: the file's
	// variables and the environment hotchain runs in, which Linux limits to some MB.
	maxEnvOutput = 16 << 20
)

// readError wraps err with doing, unless it is a refusal that names the file itself.
func readError(doing string, err error) error {
	var unsafe *filetrust.UnsafeError
	if boundedio.IsTooLarge(err) || errors.As(err, &unsafe) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// ReadTrusted reads the file at full (a path inside -root; what names it: "settings
// file", "TARBALL_KEY"), up to limit bytes, refusing it when another user could have
// written it (filetrust.Check, as root) or when it holds more than limit bytes. The check
// and the read are on one open file. A missing file is an os.IsNotExist error.
func ReadTrusted(full, what string, limit int64) ([]byte, error) {
	f, err := boundedio.Open(full, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := filetrust.Check(f, full, what); err != nil {
		return nil, err
	}
	return boundedio.ReadAll(f, full, what, limit)
}
