package agent

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

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/cli"
	"github.com/hotchain/hotchain/internal/history"
	"github.com/hotchain/hotchain/internal/hoststate"
	"github.com/hotchain/hotchain/sysconfig"
)

// Notifications (NOTIFY_URL, NOTIFY_CMD): the end of a run that installs (a nightly run or
// agent -console) sends one JSON document, the notification, to a webhook and to a command.
// Delivery is bounded (notifyLimits) and never changes what the run did: a notification
// that cannot be delivered is logged and gives exit status 4, as a report that could not be
// mailed does.

// NotificationSchema names the notification's format; a change that breaks readers gets
// a new number. The README documents the fields.
const NotificationSchema = "hotchain.notification/1"

// Notification is the JSON document that NOTIFY_URL and NOTIFY_CMD get.
type Notification struct {
	Schema       string             `json:"schema"`
	Time         time.Time          `json:"time"`
	Host         notifyHost         `json:"host"`
	Installation notifyInstallation `json:"installation"`
	Mode         string             `json:"mode"`    // cron or console
	Outcome      string             `json:"outcome"` // success or failure
	Summary      string             `json:"summary"`
	Problems     []string           `json:"problems"`
	Hotfixes     notifyHotfixes     `json:"hotfixes"`
	Report       string             `json:"report"` // the nightly report's text
}

type notifyHost struct {
	Name    string   `json:"name"`   // HOSTNAME, its name in the ledger
	System  string   `json:"system"` // SYSTEMNAME
	Role    string   `json:"role"`   // single, alpha or secondary
	Applied []string `json:"applied"`
}

type notifyInstallation struct {
	Product string `json:"product"`
	// Version is the newest hotfix of the installation's ledger (the alpha's
	// version.txt); "" when none is.
	Version string `json:"version"`
}

type notifyHotfixes struct {
	Installed  []string               `json:"installed"`
	RolledBack []string               `json:"rolled_back"`
	Failed     []string               `json:"failed"`  // the hotfix whose apply or health check failed
	Pending    []string               `json:"pending"` // offered and not applied when the run checked
	Held       []hoststate.HeldRecord `json:"held"`
	Withdrawn  []hoststate.HeldRecord `json:"withdrawn"` // applied here, withdrawn by the vendor
	Finalized  []string               `json:"finalized"`
	Recovered  []string               `json:"recovered"`
}

// NotifyLimits bounds a delivery: each try of the webhook and the command's run take at
// most Timeout; the webhook is tried Tries times, Backoff, 2*Backoff, ... apart. The
// defaults bound the whole at 3*10+1+2+10 = 43 seconds.
type NotifyLimits struct {
	Timeout time.Duration
	Tries   int
	Backoff time.Duration
}

var defaultNotifyLimits = NotifyLimits{Timeout: 10 * time.Second, Tries: 3, Backoff: time.Second}

// maxNotifyAnswer bounds what is read of a webhook's answer or a command's output, for
// the error message.
const maxNotifyAnswer = 512

// notifyWanted says whether NOTIFY_ON asks for this run.
func (r *agentRun) notifyWanted() bool {
	cfg := r.cfg
	if cfg.NotifyURL == "" && cfg.NotifyCmd == "" || r.o.Mode != ModeCron && r.o.Mode != ModeConsole {
		return false
	}
	switch cfg.NotifyOn {
	case sysconfig.NotifyAlways:
		return true
	case sysconfig.NotifyFailure:
		return r.failed
	}
	return r.failed || len(r.installed) > 0 || len(r.rolledBack) > 0 || r.dropped != nil ||
		len(r.finalized) > 0 || len(r.recovered) > 0
}

// notification builds the document.
func (r *agentRun) notification() *Notification {
	cfg := r.cfg
	n := &Notification{Schema: NotificationSchema, Time: r.o.Now().UTC().Truncate(time.Second),
		Host:         notifyHost{Name: cfg.Hostname, System: cfg.SystemName, Role: string(cfg.HostRole), Applied: []string{}},
		Installation: notifyInstallation{Product: cfg.Product},
		Mode:         string(r.o.Mode), Outcome: "success", Summary: r.summary(), Problems: nonNil(r.problems),
		Hotfixes: notifyHotfixes{Installed: hoststate.VersionStrings(r.installed), RolledBack: hoststate.VersionStrings(r.rolledBack),
			Failed: []string{}, Pending: []string{}, Held: nonNil(heldRecords(r.held)), Withdrawn: nonNil(heldRecords(r.withdrawnApplied)),
			Finalized: hoststate.VersionStrings(r.finalized), Recovered: nonNil(r.recovered)},
		Report: r.body()}
	if r.failed {
		n.Outcome = "failure"
	}
	if applied, err := r.host.Applied(); err == nil {
		n.Host.Applied = hoststate.VersionStrings(applied)
	}
	if inst, err := r.host.Ledger().Read(hotfix.InstallationLedger); err == nil {
		if v, ok := hotfix.Newest(inst); ok {
			n.Installation.Version = v.String()
		}
	}
	for _, v := range []hotfix.Version{r.applyFailed, r.healthFailed, r.dropped} {
		if v != nil {
			n.Hotfixes.Failed = append(n.Hotfixes.Failed, v.String())
		}
	}
	for _, p := range r.pending {
		n.Hotfixes.Pending = append(n.Hotfixes.Pending, p.Hotfix.String())
	}
	return n
}

// encode is the document as sent: indented JSON, "<" and ">" as they are.
func (n *Notification) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(n)
	return b.Bytes(), err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// notify sends the notification when NOTIFY_ON asks for it, and turns a delivery that
// failed into the run's exit status: 4 for a run that worked, else the run's own status
// with the failure on stderr. status is what the run returns without it.
func (r *agentRun) notify(ctx context.Context, status error, logLine func(string, bool)) error {
	if !r.notifyWanted() {
		return status
	}
	doc, err := r.notification().encode()
	if err != nil {
		return errors.Join(status, err) // cannot happen: plain strings and times
	}
	lim := r.o.NotifyLimits
	if lim == (NotifyLimits{}) {
		lim = defaultNotifyLimits
	}
	ctx = context.WithoutCancel(ctx) // a SIGTERM after the install still gets it out; lim bounds it
	var errs []error
	started := time.Now()
	if r.cfg.NotifyURL != "" {
		errs = append(errs, postNotification(ctx, r.cfg, doc, lim))
	}
	if r.cfg.NotifyCmd != "" {
		errs = append(errs, runNotifyCmd(ctx, r.cfg.NotifyCmd, r.o.Environ, doc, lim.Timeout)) // without the LOCK_TS token
	}
	nerr := errors.Join(errs...)
	r.hist.Record(history.Event{Event: history.Notify}, started, nerr)
	if nerr == nil {
		return status
	}
	nerr = fmt.Errorf("notification not delivered: %w", nerr)
	logLine(nerr.Error(), true)
	if status != nil {
		fmt.Fprintf(r.o.Stderr, "hotchain: %v\n", nerr)
		return status
	}
	return cli.ExitError{Code: cli.ExitNotMailed, Err: cli.WithHint(nerr, "check NOTIFY_URL, NOTIFY_HEADER and NOTIFY_CMD in "+r.cfg.File+"; the run itself is done")}
}

// postNotification POSTs doc to NOTIFY_URL, up to lim.Tries times while the answer may
// change (no answer, 408, 429, 5xx). NOTIFY_HEADER's value never shows in an error.
func postNotification(ctx context.Context, cfg *sysconfig.Config, doc []byte, lim NotifyLimits) error {
	// A redirect is not followed: it would take NOTIFY_HEADER's token to another place.
	client := &http.Client{Timeout: lim.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var err error
	for try := 1; try <= lim.Tries; try++ {
		if try > 1 {
			if serr := SleepCtx(ctx, lim.Backoff<<(try-2)); serr != nil {
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
		return fmt.Errorf("POST %s: %w", redactedURL(cfg.NotifyURL), err)
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

// redactedURL is the URL without its query, which may hold a token.
func redactedURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?..."
	}
	return u
}

func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// runNotifyCmd runs NOTIFY_CMD without a shell, with doc on its standard input, for at
// most timeout.
func runNotifyCmd(ctx context.Context, line string, environ []string, doc []byte, timeout time.Duration) error {
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
