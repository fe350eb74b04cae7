package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// The nightly report over a real SMTP server (go-smtp) on loopback.

type inbox struct {
	mu   sync.Mutex
	msgs []inboxMsg
}

type inboxMsg struct {
	from string
	to   []string
	data []byte
}

func (b *inbox) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &inboxSession{b: b}, nil }

func (b *inbox) messages() []inboxMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]inboxMsg(nil), b.msgs...)
}

type inboxSession struct {
	b   *inbox
	cur inboxMsg
}

func (s *inboxSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur = inboxMsg{from: from}
	return nil
}

func (s *inboxSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *inboxSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *inboxSession) Reset()        {}
func (s *inboxSession) Logout() error { return nil }

func startSMTP(t *testing.T) (string, *inbox) {
	t.Helper()
	b := &inbox{}
	srv := gosmtp.NewServer(b)
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), b
}

func TestReportIsMailed(t *testing.T) {
	addr, box := startSMTP(t)
	h := newAgentHost(t, "MAILTO=ops@example.com,root@example.com", "MAILFROM=hotchain@myhost.example.com", "SMTP_SERVER="+addr)
	code, stdout, stderr := h.run(h.options(modeCron))
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and nothing printed", code, stdout, stderr)
	}
	msgs := box.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages received, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "hotchain@myhost.example.com" || strings.Join(m.to, " ") != "ops@example.com root@example.com" {
		t.Errorf("envelope from %q to %q", m.from, m.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); got != "[shop-hotfix] myhost: 3 hotfixes installed" {
		t.Errorf("subject %q", got)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "Installed: 6.14.2.1 6.14.2.2 6.14.2.3") {
		t.Errorf("body:\n%s", body)
	}

	// A failure is always reported, and says so in the subject.
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.4/Install/10-fail.sh", "exit 3\n")
	if code, stdout, _ := h.run(h.options(modeCron)); code != 1 || stdout != "" {
		t.Errorf("failed run: exit %d, stdout %q; want 1 and the report mailed", code, stdout)
	}
	msgs = box.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	msg, _ = mail.ReadMessage(bytes.NewReader(msgs[1].data))
	if got := msg.Header.Get("Subject"); !strings.HasPrefix(got, "[shop-hotfix] myhost: FAILED: hotfix 6.14.2.4 is installed") {
		t.Errorf("subject of the failure %q", got)
	}
}

func TestUnmailableReportGivesExit4(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	h := newAgentHost(t, "MAILTO=ops@example.com", "SMTP_SERVER="+dead)
	code, stdout, stderr := h.run(h.options(modeCron))
	if code != 4 {
		t.Fatalf("exit %d, want 4; stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "hotchain: mail the report to ops@example.com:") || !strings.Contains(stderr, "hint: check MAILTO") {
		t.Errorf("stderr %q", stderr)
	}
	// crond mails what is printed: the report is not lost.
	if !strings.HasPrefix(stdout, "[shop-hotfix] myhost: 3 hotfixes installed\n") {
		t.Errorf("report not printed instead:\n%s", stdout)
	}
	if h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("the install itself did not happen: ledger %q", h.ledger("host1.txt"))
	}
}
