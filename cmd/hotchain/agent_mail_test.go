package main

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"strings"
	"testing"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/testutil"
)

// The nightly report over a real SMTP server (go-smtp) on loopback.

func TestReportIsMailed(t *testing.T) {
	box := testutil.StartSMTP(t, nil)
	addr := box.Addr
	h := newAgentHost(t, "MAILTO=ops@example.com,root@example.com", "MAILFROM=hotchain@myhost.example.com", "SMTP_SERVER="+addr)
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and nothing printed", code, stdout, stderr)
	}
	msgs := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages received, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "hotchain@myhost.example.com" || strings.Join(m.To, " ") != "ops@example.com root@example.com" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
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
	if code, stdout, _ := h.run(h.options(agent.ModeCron)); code != 1 || stdout != "" {
		t.Errorf("failed run: exit %d, stdout %q; want 1 and the report mailed", code, stdout)
	}
	msgs = box.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	msg, _ = mail.ReadMessage(bytes.NewReader(msgs[1].Data))
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
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
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
