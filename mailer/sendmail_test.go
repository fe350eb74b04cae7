package mailer

import (
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeBinary writes a shell script named name that records its arguments (one a line) and its
// standard input next to itself, then runs tail (extra shell code).
func fakeBinary(t *testing.T, name, tail string) (path, argsFile, stdinFile string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, name)
	argsFile = filepath.Join(dir, "args")
	stdinFile = filepath.Join(dir, "stdin")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + argsFile + "'\ncat > '" + stdinFile + "'\n" + tail + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, argsFile, stdinFile
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendmailPipesFormattedMessage(t *testing.T) {
	path, argsFile, stdinFile := fakeBinary(t, "sendmail", "")
	if err := (Sendmail{Path: path}).Send(context.Background(), report); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, argsFile); got != "-t\n-i\n" {
		t.Errorf("args = %q, want -t -i", got)
	}
	raw := readFile(t, stdinFile)
	if strings.Contains(raw, "\r") {
		t.Error("sendmail got CR characters: it wants local LF line ends")
	}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("sendmail got an unreadable message: %v\n%s", err, raw)
	}
	if got := msg.Header.Get("To"); got != "ops@example.com, root" {
		t.Errorf("To = %q", got)
	}
	if got := msg.Header.Get("From"); !strings.Contains(got, "root@myhost.example.com") {
		t.Errorf("From = %q", got)
	}
	if got := msg.Header.Get("Subject"); got != report.Subject {
		t.Errorf("Subject = %q, want %q", got, report.Subject)
	}
	var body io.Reader = msg.Body
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != report.Body {
		t.Errorf("body = %q, want %q", got, report.Body)
	}
}

func TestSendmailKeepsGivenArgs(t *testing.T) {
	path, argsFile, _ := fakeBinary(t, "sendmail", "")
	s := Sendmail{Path: path, Args: []string{"-t", "-i", "-f", "root@myhost"}}
	if err := s.Send(context.Background(), report); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, argsFile); got != "-t\n-i\n-f\nroot@myhost\n" {
		t.Errorf("args = %q", got)
	}
}

func TestMailStyle(t *testing.T) {
	path, argsFile, stdinFile := fakeBinary(t, "mail", "")
	m := report
	m.Body = "line one\r\nline two" // no final newline, CRLF: mail gets plain LF text
	if err := (Sendmail{Path: path}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	want := "-s\n" + report.Subject + "\nops@example.com\nroot\n"
	if got := readFile(t, argsFile); got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
	if got := readFile(t, stdinFile); got != "line one\nline two\n" {
		t.Errorf("stdin = %q, want the bare body", got)
	}
}

func TestSendmailFailure(t *testing.T) {
	path, _, _ := fakeBinary(t, "sendmail", "echo 'ops@example.com... User unknown' >&2\nexit 67")
	err := (Sendmail{Path: path}).Send(context.Background(), report)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 67 {
		t.Fatalf("err = %v, want the exit status 67", err)
	}
	if !strings.Contains(err.Error(), "User unknown") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want the binary's path and its complaint", err)
	}
}

func TestSendmailHungIsKilled(t *testing.T) {
	path, _, _ := fakeBinary(t, "sendmail", "exec sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := (Sendmail{Path: path}).Send(ctx, report)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a hung sendmail held Send for %v", took)
	}
}

func TestSendmailMissingBinary(t *testing.T) {
	err := (Sendmail{Path: filepath.Join(t.TempDir(), "sendmail")}).Send(context.Background(), report)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
}

func TestSendmailRejectsOptionRecipient(t *testing.T) {
	path, argsFile, _ := fakeBinary(t, "mail", "")
	m := report
	m.To = []string{"-oQ/tmp/x"}
	if err := (Sendmail{Path: path}).Send(context.Background(), m); err == nil {
		t.Fatal("a recipient that looks like an option was passed on")
	}
	if _, err := os.Stat(argsFile); !errors.Is(err, os.ErrNotExist) {
		t.Error("the binary ran anyway")
	}
}

func TestChoose(t *testing.T) {
	// lookPath stands in for exec.LookPath over a host with the given binaries.
	host := func(found ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, f := range found {
				if name == f || (!strings.Contains(name, "/") && filepath.Base(f) == name) {
					return f, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	for _, tc := range []struct {
		name   string
		server string
		have   []string
		want   Sender
	}{
		{"server wins over sendmail", "mx.example.com:2525", []string{"/usr/sbin/sendmail"}, SMTP{Addr: "mx.example.com:2525"}},
		{"server without port", "mx.example.com", nil, SMTP{Addr: "mx.example.com:25"}},
		{"IPv6 server without port", "::1", nil, SMTP{Addr: "[::1]:25"}},
		{"sbin sendmail first", "", []string{"/usr/lib/sendmail", "/usr/sbin/sendmail", "/usr/bin/mail"}, Sendmail{Path: "/usr/sbin/sendmail", Args: []string{"-t", "-i"}}},
		{"lib sendmail", "", []string{"/usr/lib/sendmail", "/usr/bin/mail"}, Sendmail{Path: "/usr/lib/sendmail", Args: []string{"-t", "-i"}}},
		{"mail on PATH", "", []string{"/usr/bin/mail"}, Sendmail{Path: "/usr/bin/mail"}},
		{"nothing: local SMTP", "", nil, SMTP{Addr: "localhost:25"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Choose(tc.server, host(tc.have...))
			if !equalSender(got, tc.want) {
				t.Errorf("Choose = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func equalSender(a, b Sender) bool {
	switch a := a.(type) {
	case SMTP:
		b, ok := b.(SMTP)
		return ok && a.Addr == b.Addr && a.Timeout == b.Timeout && a.TLSConfig == b.TLSConfig
	case Sendmail:
		b, ok := b.(Sendmail)
		return ok && a.Path == b.Path && slices.Equal(a.Args, b.Args)
	}
	return false
}
