// Package mailer delivers the agent's run report: as mail (through an SMTP server or a local
// sendmail/mail binary, chosen the way the original cron script did) and as one summary line to
// syslog. It only delivers: deciding whether a run deserves a report, and what it says, is the
// agent's business. It never authenticates to a server and never retries; a report that cannot
// be sent is an error for the caller to log (the agent's exit 4).
package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// Message is one report.
type Message struct {
	From    string
	To      []string
	Subject string
	Body    string
}

// Sender delivers a message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

var (
	_ Sender = SMTP{}
	_ Sender = Sendmail{}
)

// DefaultTimeout bounds one delivery when the sender sets no timeout of its own: a cron run must
// not hang on a mail server that accepts connections and then says nothing.
const DefaultTimeout = 60 * time.Second

// sendmailPaths are where sendmail lives on the hosts we support, in the order the original
// script looked.
var sendmailPaths = []string{"/usr/sbin/sendmail", "/usr/lib/sendmail"}

// Choose picks the sender like the original system: SMTP to server when one is given (port 25
// when it names none); else the first sendmail found in sendmailPaths, else `mail` on PATH; else
// SMTP to localhost:25. lookPath is exec.LookPath when nil.
func Choose(server string, lookPath func(string) (string, error)) Sender {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	if server != "" {
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(strings.Trim(server, "[]"), "25")
		}
		return SMTP{Addr: server}
	}
	for _, p := range sendmailPaths {
		if found, err := lookPath(p); err == nil {
			return Sendmail{Path: found, Args: []string{"-t", "-i"}}
		}
	}
	if found, err := lookPath("mail"); err == nil {
		return Sendmail{Path: found}
	}
	return SMTP{Addr: "localhost:25"}
}

// check rejects what no transport can deliver, before anything is sent.
func check(m Message, needFrom bool) error {
	if len(m.To) == 0 {
		return errors.New("report has no recipient: set MAILTO")
	}
	if needFrom && strings.TrimSpace(m.From) == "" {
		return errors.New("report has no sender address (From)")
	}
	for _, a := range append([]string{m.From}, m.To...) {
		if strings.ContainsAny(a, "\r\n") {
			return fmt.Errorf("mail address %q contains a line break", a)
		}
	}
	for _, a := range m.To {
		a = strings.TrimSpace(a)
		if a == "" {
			return errors.New("empty recipient in MAILTO")
		}
		// A recipient that looks like an option would be taken as one by sendmail or mail.
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("recipient %q starts with '-': not a mail address", a)
		}
	}
	return nil
}
