package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hotchain/hotchain/lock"
	"github.com/hotchain/hotchain/sysconfig"
)

// env is what a command may touch of the process: tests hand in their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	bootID         func() (string, error) // the running boot's id; nil: readBootID
}

// boot is the running boot's id (restart.go).
func (e *env) boot() (string, error) {
	if e.bootID != nil {
		return e.bootID()
	}
	return readBootID()
}

// getenv looks a variable up in e.environ.
func (e *env) getenv(key string) string { return lookupEnv(e.environ, key) }

// lookupEnv looks a variable up in environ (sysconfig.LookupEnv: the last assignment wins).
func lookupEnv(environ []string, key string) string {
	v, _ := sysconfig.LookupEnv(environ, key)
	return v
}

type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"agent", "[-check|-download|-console|-daemon]", "install pending hotfixes from the repository (the nightly job)", runAgent},
		{"service", "start|stop|status", "enable, disable or show nightly runs", runService},
		{"hold", "-- CMD [ARGS...]", "stop nightly runs, run CMD (a product patch), start again", runHold},
		{"apply", "[-nocheck] DIR|TARBALL", "apply one hotfix to this host (what the RPM's %post runs)", runApply},
		{"prereq", "VERSION", "check the prerequisites of a hotfix (what the RPM's %pre runs)", runPrereq},
		{"finalize", "[VERSION]", "run the alpha's -final install scripts", runFinalize},
		{"rollback", "[VERSION]", "undo the newest applied hotfix on this host", runRollback},
		{"recover", "", "finish or undo the applies and rollbacks a crash interrupted (run at boot)", runRecover},
		{"history", "[-json] [-host H|-all] [-since DATE] [-version V]", "print the history of runs and changes of this host or of every host", runHistory},
		{"status", "[-json] [-installation]", "show the product version, applied chain and rollout state", runStatus},
		{"restarted", "", "say that the restart or reboot applied hotfixes asked for is done", runRestarted},
		{"verify", "", "compare the files applied hotfixes own with their recorded SHA-256", runVerify},
		{"import", "FILE", "install the hotfixes of an offline bundle (FILE.sig beside it) without network", runImport},
		{"repo-file", "-base-version V", "point the host's .repo file at another base version", runRepoFile},
		{"diff", "-from OLD -to NEW -version V -out DIR", "write the hotfix directory that turns one tree into another, checked by applying it", runDiff},
		{"build", "-product P -out DIR SRC", "build a hotfix RPM and tarball from a hotfix directory", runBuild},
		{"build-base", "-product P -base-version V -repo-url URL -out DIR", "build the base RPM that enables hotfixes on a host", runBuildBase},
		{"keygen", "-name N -email E -out PREFIX", "make a signing key for packages, repositories and tarballs", runKeygen},
		{"repo", "-base-url URL DIR", "write yum/dnf metadata and the .repo file for a directory of hotfix RPMs", runRepo},
		{"policy", "-sign-key KEY [-share V=PCT] [-halt V] [-withdraw V -reason R] DIR", "write the signed rollout policy of a repository (phasing, halt, withdraw)", runPolicy},
		{"serve", "-dir DIR [-listen ADDR]", "serve repositories over HTTP for a local or air-gapped update", runServe},
		{"bundle", "-product P -repo DIR -from V1 -to V2 -out FILE", "pack part of a chain, signed, into one file for hosts without network", runBundle},
	}
}

func run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stderr)
		return usageError{errors.New("no command given")}
	}
	name := args[0]
	switch name {
	case "help", "-help", "--help", "-h":
		usage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return withHint(usageError{fmt.Errorf("unknown command %q", name)}, "the commands are: "+strings.Join(names, ", ")+"; see hotchain help")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hotchain COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun hotchain COMMAND -help for a command's flags.")
	fmt.Fprint(w, exitStatusHelp)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// hinted adds the next step to an error.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }
func (h hinted) Hint() string  { return h.hint }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return hinted{err, hint}
}

// report prints err (message and hint) and returns the exit status (exitStatus).
func report(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var s silentExit
	if errors.As(err, &s) || errors.Is(err, flag.ErrHelp) {
		return exitStatus(err)
	}
	fmt.Fprintf(w, "hotchain: %s\n", err)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(w, "hint: %s\n", h.Hint())
	} else if lock.IsHeld(err) {
		fmt.Fprintln(w, "hint: wait for the other run to finish (hotchain status shows it), then try again")
	}
	return exitStatus(err)
}

// newFlags makes a flag set that reports usage errors instead of exiting, with the
// command's synopsis in -help.
func newFlags(e *env, name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hotchain %s [FLAGS] %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), exitStatusHelp)
	}
	return fs
}

// parseFlags parses args and wraps a bad flag as a usage error; -help is flag.ErrHelp (exit 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// noArgs refuses the words left after a command's flags: each of these commands takes flags
// only. hint, when given, shows a correct command line.
func noArgs(fs *flag.FlagSet, hint string) error {
	if fs.NArg() == 0 {
		return nil
	}
	err := usageError{fmt.Errorf("%s takes no arguments, got %q", fs.Name(), fs.Args())}
	if hint == "" {
		return err
	}
	return withHint(err, hint)
}

// warnf prints a warning that does not stop the command.
func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "hotchain: warning: "+format+"\n", args...)
}

// fileExists is os.Stat without the error detail, for optional files.
func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
