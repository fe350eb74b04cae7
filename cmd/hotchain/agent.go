package main

import (
	"context"
	"errors"
)

// The agent, the service switch and hold come with the host agent; until then they say so.
var errNoAgent = errors.New("this build of hotchain has no agent yet")

func runAgent(ctx context.Context, e *env, args []string) error   { return errNoAgent }
func runService(ctx context.Context, e *env, args []string) error { return errNoAgent }
func runHold(ctx context.Context, e *env, args []string) error    { return errNoAgent }
