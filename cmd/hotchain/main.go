// Command hotchain builds, publishes and installs hotfix chains for a product installed
// from RPMs. Run `hotchain help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotchain/hotchain/internal/cli"
)

func main() {
	os.Exit(mainWithExit())
}

// mainWithExit runs the command line and turns its error into the documented exit status;
// tests run it in-process through testscript.
func mainWithExit() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}
	err := run(ctx, e, os.Args[1:])
	return report(e.Stderr, err)
}
