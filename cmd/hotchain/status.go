package main

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststatus"
)

func runStatus(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "status", "", "Shows the product version, the chain applied on this host and the installation, and interrupted applies.")
	asJSON := fs.Bool("json", false, "print JSON for programs")
	installation := fs.Bool("installation", false, "show every host of the installation from the shared LEDGER_DIR: chain, last run, waits, health, drift, restarts")
	settings := loadSettings(e, fs)
	cfg, err := parseSettingsOnly(fs, args, settings)
	if err != nil {
		return err
	}
	if *installation {
		st, err := hoststatus.GatherInstallation(e, cfg)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.Stdout, st)
		}
		st.WriteText(e.Stdout, time.Local)
		return nil
	}
	st, err := hoststatus.Gather(ctx, e, cfg, newHost(e, cfg))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.Stdout, st)
	}
	st.WriteText(e.Stdout, cfg.LockTS, time.Local)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
