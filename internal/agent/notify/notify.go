// Package notify delivers an agent run's notification: the JSON document (Document, schema
// hotchain.notification/1) POSTed to NOTIFY_URL with NOTIFY_HEADER, retried within Limits,
// and piped to NOTIFY_CMD. What goes into the document and when a run notifies is the
// run's report (internal/agent/report, Notification); this package only encodes and delivers, never says
// the token of a URL (RedactedURL) and reads at most a few hundred bytes of an answer.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// Schema names the notification's format; a change that breaks readers gets
// a new number. The README documents the fields.
const Schema = "hotchain.notification/1"

// Document is the JSON document that NOTIFY_URL and NOTIFY_CMD get.
type Document struct {
	Schema       string       `json:"schema"`
	Time         time.Time    `json:"time"`
	Host         Host         `json:"host"`
	Installation Installation `json:"installation"`
	Mode         string       `json:"mode"`    // cron or console
	Outcome      string       `json:"outcome"` // success or failure
	Summary      string       `json:"summary"`
	Problems     []string     `json:"problems"`
	Hotfixes     Hotfixes     `json:"hotfixes"`
	Report       string       `json:"report"` // the nightly report's text
}

type Host struct {
	Name    string   `json:"name"`   // HOSTNAME, its name in the ledger
	System  string   `json:"system"` // SYSTEMNAME
	Role    string   `json:"role"`   // single, alpha or secondary
	Applied []string `json:"applied"`
}

type Installation struct {
	Product string `json:"product"`
	// Version is the newest hotfix of the installation's ledger (the alpha's
	// version.txt); "" when none is.
	Version string `json:"version"`
}

type Hotfixes struct {
	Installed  []string               `json:"installed"`
	RolledBack []string               `json:"rolled_back"`
	Failed     []string               `json:"failed"`  // the hotfix whose apply or health check failed
	Pending    []string               `json:"pending"` // offered and not applied when the run checked
	Held       []hoststate.HeldRecord `json:"held"`
	Withdrawn  []hoststate.HeldRecord `json:"withdrawn"` // applied here, withdrawn by the vendor
	Finalized  []string               `json:"finalized"`
	Recovered  []string               `json:"recovered"`
}

// Limits bounds a delivery: each try of the webhook and the command's run take at
// most Timeout; the webhook is tried Tries times, Backoff, 2*Backoff, ... apart. The
// defaults bound the whole at 3*10+1+2+10 = 43 seconds.
type Limits struct {
	Timeout time.Duration
	Tries   int
	Backoff time.Duration
}

var DefaultLimits = Limits{Timeout: 10 * time.Second, Tries: 3, Backoff: time.Second}

// maxNotifyAnswer bounds what is read of a webhook's answer or a command's output, for
// the error message.
const maxNotifyAnswer = 512

// Encode is the document as sent: indented JSON, "<" and ">" as they are.
func (n *Document) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(n)
	return b.Bytes(), err
}

func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Post POSTs doc to NOTIFY_URL, up to lim.Tries times while the answer may
// change (no answer, 408, 429, 5xx). NOTIFY_HEADER's value never shows in an error.
func Post(ctx context.Context, cfg *sysconfig.Config, doc []byte, lim Limits) error {
	// A redirect is not followed: it would take NOTIFY_HEADER's token to another place.
	client := &http.Client{Timeout: lim.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var err error
	for try := 1; try <= lim.Tries; try++ {
		if try > 1 {
			if serr := cli.SleepCtx(ctx, lim.Backoff<<(try-2)); serr != nil {
				break
			}
		}
		var retry bool
		retry, err = postOnce(ctx, client, cfg, doc)
		if err == nil || !retry {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("POST %s: %w", RedactedURL(cfg.NotifyURL), err)
	}
	return nil
}

func postOnce(ctx context.Context, client *http.Client, cfg *sysconfig.Config, doc []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.NotifyURL, bytes.NewReader(doc))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hotchain")
	if name, value, ok := strings.Cut(cfg.NotifyHeader, ":"); ok {
		req.Header.Set(name, strings.TrimSpace(value))
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return true, fmt.Errorf("no answer within %s", client.Timeout)
		}
		return true, errors.Unwrap(err) // *url.Error repeats the URL
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxNotifyAnswer))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	msg := fmt.Sprintf("the server answered %s", resp.Status)
	if a := strings.TrimSpace(string(answer)); a != "" {
		msg += ": " + OneLine(a)
	}
	code := resp.StatusCode
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500, errors.New(msg)
}

// RedactedURL is the URL without its query, which may hold a token.
func RedactedURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?..."
	}
	return u
}

func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// RunCommand runs NOTIFY_CMD without a shell, with doc on its standard input, for at
// most timeout.
func RunCommand(ctx context.Context, line string, environ []string, doc []byte, timeout time.Duration) error {
	words, err := sysconfig.Split(line)
	if err != nil || len(words) == 0 {
		return fmt.Errorf("NOTIFY_CMD=%q cannot be split into words: %v", line, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, words[0], words[1:]...)
	var out bytes.Buffer
	cmd.Env, cmd.Stdin = environ, bytes.NewReader(doc)
	lw := &limitedWriter{&out, maxNotifyAnswer} // one writer: exec calls it from one goroutine
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.WaitDelay = time.Second // a child that keeps the pipes open does not hold the run
	err = cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		err = fmt.Errorf("did not end within %s", timeout)
	}
	if o := strings.TrimSpace(out.String()); o != "" {
		err = fmt.Errorf("%w: %s", err, OneLine(o))
	}
	return fmt.Errorf("NOTIFY_CMD %s: %w", words[0], err)
}

// limitedWriter keeps the first n bytes and swallows the rest.
type limitedWriter struct {
	b *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
