// Package state says where a host's hotfix chain stands, as its files show it: what is
// applied (the ledgers), where each hotfix lies, what the applied hotfixes own and what of
// that drifted (Verify), which applies were interrupted or never started (Interrupted,
// Unpacked), the product's version, and the alpha-then-others rollout (Rollout). The applier
// decides with it, the command line and the agent report it. It only reads: it must not
// write, take a lock or run a script; the one program it runs is PRODUCT_VERSION_CMD, which
// says the product's version.
package state

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/hint"
	"github.com/hotchain/hotchain/sysconfig"
)

// MaxProductVersionFileSize bounds PRODUCT_VERSION_FILE, of which the first line counts: the
// most hotchain reads of it, as hotfix's limits (hotfix.MaxLedgerSize, ...) bound the files
// of the model and journal.MaxSize the apply journal.
const MaxProductVersionFileSize = 64 << 10

// Ledger is this host's view of LEDGER_DIR.
func Ledger(cfg *sysconfig.Config) hotfix.Ledger {
	return hotfix.Ledger{Dir: cfg.InRoot(cfg.LedgerDir)}
}

// Applied is the chain applied on this host, in order.
func Applied(cfg *sysconfig.Config) ([]hotfix.Version, error) {
	return Ledger(cfg).Read(hotfix.HostFile(cfg.Hostname))
}

// HotfixDir is where hotfix v is unpacked on this host.
func HotfixDir(cfg *sysconfig.Config, v hotfix.Version) string {
	return filepath.Join(cfg.InRoot(cfg.PatchesDir), hotfix.DirName(cfg.Product, v))
}

// ResolveHotfixDir is HotfixDir resolved inside -root (sysconfig.Config.Resolve): the
// directory that apply writes backups, its journal and its log into, and that rollback
// removes them from. A symlink in its place is followed as inside the root, and one that
// leads out of the root is refused, so nothing of a hotfix is written or removed outside
// the root.
func ResolveHotfixDir(cfg *sysconfig.Config, v hotfix.Version) (string, error) {
	p, err := cfg.Resolve(filepath.Join(cfg.PatchesDir, hotfix.DirName(cfg.Product, v)))
	if err != nil {
		return "", hint.With(fmt.Errorf("hotfix directory %s: %w", HotfixDir(cfg, v), err),
			"make the symlink point inside the root (an absolute target is taken inside -root), or put the hotfix directory itself in PATCHES_DIR")
	}
	return p, nil
}

// ProductVersion is the installed product version: the first line of PRODUCT_VERSION_FILE,
// or what PRODUCT_VERSION_CMD prints (run with environ).
func ProductVersion(ctx context.Context, cfg *sysconfig.Config, environ []string) (hotfix.Version, error) {
	var raw, from string
	if cfg.ProductVersionCmd != "" {
		words, err := sysconfig.Split(cfg.ProductVersionCmd)
		if err != nil || len(words) == 0 {
			return nil, fmt.Errorf("PRODUCT_VERSION_CMD %q cannot be split into words: %v", cfg.ProductVersionCmd, err)
		}
		cmd := exec.CommandContext(ctx, words[0], words[1:]...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader("") // no /dev/null in a bare installroot
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		outb, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("PRODUCT_VERSION_CMD %q failed: %v: %s", cfg.ProductVersionCmd, err, strings.TrimSpace(stderr.String()))
		}
		raw, from = string(outb), "PRODUCT_VERSION_CMD "+cfg.ProductVersionCmd
	} else {
		p := cfg.InRoot(cfg.ProductVersionFile)
		data, err := boundedio.ReadFile(p, "product version file (PRODUCT_VERSION_FILE)", MaxProductVersionFileSize)
		if boundedio.IsTooLarge(err) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("read the product version (PRODUCT_VERSION_FILE): %w", err)
		}
		raw, from = string(data), p
	}
	line, _, _ := strings.Cut(strings.TrimSpace(raw), "\n")
	v, err := hotfix.ParseVersion(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("product version from %s: %w", from, err)
	}
	return v, nil
}

// Contains says whether vs holds v.
func Contains(vs []hotfix.Version, v hotfix.Version) bool { return slices.ContainsFunc(vs, v.Equal) }
