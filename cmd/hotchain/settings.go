package main

import (
	"errors"
	"flag"

	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/filetrust"
	"github.com/hotchain/hotchain/sysconfig"
)

// loadSettings adds the host-side flags -config and -root to fs and returns a function that,
// after parsing, reads the settings they name (SPEC section 6): -config, else
// $HOTCHAIN_CONFIG, else the one /etc/sysconfig/*-hotfix file that sets PRODUCT.
func loadSettings(e *cli.Env, fs *flag.FlagSet) func() (*sysconfig.Config, error) {
	config := fs.String("config", "", "settings `file` (default: $HOTCHAIN_CONFIG, else the one /etc/sysconfig/*-hotfix)")
	root := fs.String("root", "", "treat `DIR` as the root of the host, like rpm --root: settings and every path in them are taken inside it")
	return func() (*sysconfig.Config, error) {
		path := *config
		if path == "" {
			var err error
			if path, err = sysconfig.Locate(*root, e.Environ); err != nil {
				return nil, cli.WithHint(err, "pass -config /etc/sysconfig/PRODUCT-hotfix")
			}
		}
		cfg, err := sysconfig.Load(*root, path, e.Environ)
		var unsafe *filetrust.UnsafeError
		if errors.As(err, &unsafe) || boundedio.IsTooLarge(err) {
			return nil, err // its own hint: the chmod or chown that fixes it
		}
		if err != nil {
			return nil, cli.WithHint(err, "fix the settings file, or the environment variable named, and run again")
		}
		if err := cfg.ResolvePaths(); err != nil {
			return nil, err
		}
		for _, w := range cfg.Warnings {
			e.Warnf("%s", w)
		}
		return cfg, nil
	}
}

// parseSettingsOnly parses the flags of a command that takes no arguments and loads its
// settings: the start of most host commands.
func parseSettingsOnly(fs *flag.FlagSet, args []string, settings func() (*sysconfig.Config, error)) (*sysconfig.Config, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := noArgs(fs, ""); err != nil {
		return nil, err
	}
	return settings()
}
