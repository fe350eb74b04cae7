package drop

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hint"
)

// BundleTake is what TakeBundles needs: the folder, and the import that takes a bundle
// (hotchain import, which checks its signature and installs it; this package does neither).
type BundleTake struct {
	Dir     string // DROP_DIR on this host (under ROOT)
	Shown   string // DROP_DIR as the settings name it, for messages
	Product string
	Host    string    // the host name, for the .reason file
	Out     io.Writer // a line for each bundle imported, refused or left
	// Import imports the bundle (in: opened by OpenArchive; bundle names it) with its
	// signature (a private copy of the .sig).
	Import func(bundle string, in *os.File, sig string) error
	// Refused reports whether Import's error is the bundle's own fault (it goes to
	// refused/) rather than the host's (it stays for the next run).
	Refused func(error) bool
}

// TakeBundles imports the bundle pairs names of the folder, in order, each still complete,
// and moves each to done/, or to refused/ when the import refused it, or leaves it for the
// next run (another run holds a lock, the disk is full, the install failed).
func TakeBundles(t BundleTake, names []string) error {
	dir := t.Dir
	df, err := OpenDir(dir)
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	defer df.Close()
	w := t.Out
	var status error
	for _, name := range names {
		shown := hotfix.ShownName(name)
		pairs, err := Scan(dir, t.Product)
		if err != nil {
			return fmt.Errorf("drop folder: %w", err)
		}
		var p *Pair
		for _, q := range pairs {
			if q.Archive == name {
				p = q
			}
		}
		if p == nil || p.ArchiveFile == nil || p.SigFile == nil {
			continue // moved or removed meanwhile
		}
		if why, _, _ := PairState(dir, p, time.Now()); why != "" || p.Bad != "" {
			continue
		}
		in, err := df.OpenArchive(p.ArchiveFile)
		if err != nil {
			fmt.Fprintf(w, "Drop folder %s: %s left for the next run: %v\n", t.Shown, shown, err)
			continue
		}
		sigCopy, cleanup, err := PrivateSigCopy(df, p.SigFile.Name)
		if err == nil {
			err = t.Import(filepath.Join(dir, p.ArchiveFile.Name), in, sigCopy)
			cleanup()
		}
		in.Close()
		switch {
		case err == nil:
			base, merr := df.Move(Done, p, "")
			if merr != nil {
				fmt.Fprintf(w, "Drop folder %s: imported %s, but could not move it to %s/: %v\n", t.Shown, shown, Done, merr)
				status = errors.Join(status, merr)
				continue
			}
			fmt.Fprintf(w, "Drop folder %s: imported %s (moved to %s)\n", t.Shown, shown, hotfix.ShownName(filepath.Join(t.Shown, Done, base)))
		case !t.Refused(err):
			// Not the bundle's fault, or not only (another run holds a lock, dnf failed,
			// an apply or health check failed: the import's report says which): the
			// next run imports it again, as the agent retries a pending chain.
			fmt.Fprintf(w, "Drop folder %s: %s left for the next run: %v\n", t.Shown, shown, err)
			if status == nil {
				status = err
			}
		default:
			reason := err.Error()
			if sigCopy != "" {
				reason = strings.ReplaceAll(reason, sigCopy, filepath.Join(t.Shown, p.SigFile.Name))
			}
			next := hint.Of(err)
			if next == "" {
				next = "get the bundle and its .sig again from the vendor and copy them into the drop folder, the bundle first"
			}
			base, merr := df.Move(Refused, p, ReasonText(t.Host, shown, reason, next))
			if merr != nil {
				status = errors.Join(status, merr)
			}
			fmt.Fprintf(w, "Drop folder %s: refused %s: %s (moved to %s)\n", t.Shown, shown, reason, hotfix.ShownName(filepath.Join(t.Shown, Refused, base)))
			if status == nil {
				status = cli.ExitError{Code: cli.ExitFailure, Err: cli.WithHint(fmt.Errorf("drop folder: refused %s: %s", shown, reason), next)}
			}
		}
	}
	return status
}
