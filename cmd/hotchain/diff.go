package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/packaging/treediff"
)

// runDiff is `hotchain diff`: a hotfix directory from two trees (package treediff).
func runDiff(ctx context.Context, e *cli.Env, args []string) error {
	fs := newFlags(e, "diff", "-from OLD -to NEW -version V -out DIR", `Writes the hotfix directory DIR that turns the tree OLD into the tree NEW: the files and
symlinks that are new or changed (content, mode, symlink target) in its change trees with
NEW's mode and modification time, the directories NEW adds, FileRemovals for what NEW no
longer has (a removed directory with everything in it), version.txt and filelist.txt.
Without -trees all of OLD and NEW is FileChanges (laid over PRODUCT_ROOT); -trees maps
change trees to subdirectories, as CHANGE_TREES maps them to roots on the hosts.
It refuses, naming each entry and writing nothing, what a hotfix cannot ship: a difference
outside every mapped subdirectory, a changed owner (a hotfix gives what it places the owner
of what it replaces, or of its directory), setuid or setgid bits, extended attributes
(security.capability, ACLs, user.*, trusted.*: set them in an Install script), names with
a control character, device files, pipes and sockets, the mode of a directory that exists,
and an entry that changes its kind (a file where a directory was: one hotfix places an
entry or removes it, not both). Modification
times alone are no difference. Symlinks are never followed; hard links are files.
Before it finishes it checks itself: it applies DIR with the applier of 'hotchain apply'
to a copy of what DIR touches in OLD and compares the result with NEW entry by entry
(kind, mode, owner, content, symlink target, the times of placed files and symlinks). DIR
is written under a temporary name beside it and appears only when that check passes.
DIR must not exist, or be empty; its parent must exist. Run it as root, or as the owner of
both trees, so that owners can be checked. Then add fixed-bugs.txt, Install/ scripts and
what else the hotfix needs, and remove filelist.txt: build writes it anew.`)
	from := fs.String("from", "", "`OLD` tree: the product as hosts have it (required)")
	to := fs.String("to", "", "`NEW` tree: the product as it should be (required)")
	version := fs.String("version", "", "hotfix `version` for version.txt (required), like 6.14.2.4")
	trees := fs.String("trees", "", "`TREE=SUBDIR,...`: change trees and the subdirectories of OLD and NEW they hold, like FileChanges=app,StoreTypeChanges=types (default FileChanges=.)")
	out := fs.String("out", "", "hotfix `DIR` to write (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const example = "hotchain diff -from old/shop -to new/shop -version 6.14.2.4 -out src/shop-hotfix-6.14.2.4"
	if err := noArgs(fs, example); err != nil {
		return err
	}
	if *from == "" || *to == "" || *version == "" || *out == "" {
		return cli.WithHint(cli.UsageError{Err: errors.New("diff needs -from, -to, -version and -out")}, example)
	}
	v, err := hotfix.ParseHotfixVersion(*version)
	if err != nil {
		return cli.UsageError{Err: fmt.Errorf("-version: %w", err)}
	}
	o := treediff.Options{Old: *from, New: *to, Out: *out, Version: v, Log: e.Stdout}
	if *trees != "" {
		if o.Trees, err = treediff.ParseTrees(*trees); err != nil {
			return cli.UsageError{Err: err}
		}
	}
	// The comparison holds both trees' listings in memory, a few hundred bytes an entry:
	// collect less often than the default.
	debug.SetGCPercent(400)
	res, err := treediff.Make(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s\n", res.Dir)
	return nil
}
