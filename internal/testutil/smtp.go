package testutil

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Mail is one message as the SMTP server got it.
type Mail struct {
	From string
	To   []string
	Data []byte
	TLS  bool // it came over STARTTLS
}

// Inbox is a real SMTP server (go-smtp) on a loopback port that keeps what it receives. A
// recipient whose address starts with "refused" is refused with 550, as a server refuses an
// unknown user.
type Inbox struct {
	Addr string // host:port
	mu   sync.Mutex
	msgs []Mail
}

// StartSMTP runs an Inbox until the test ends; with tlsCfg it offers STARTTLS.
func StartSMTP(t testing.TB, tlsCfg *tls.Config) *Inbox {
	t.Helper()
	in := &Inbox{}
	srv := gosmtp.NewServer(in)
	srv.Domain = "mx.test"
	srv.TLSConfig = tlsCfg
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	in.Addr = l.Addr().String()
	return in
}

// Messages is what the server received so far.
func (in *Inbox) Messages() []Mail {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Mail(nil), in.msgs...)
}

// NewSession implements gosmtp.Backend.
func (in *Inbox) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &smtpSession{in: in, c: c}, nil
}

type smtpSession struct {
	in  *Inbox
	c   *gosmtp.Conn
	cur Mail
}

func (s *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur = Mail{From: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if strings.HasPrefix(to, "refused") {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	_, s.cur.TLS = s.c.TLSConnectionState()
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, s.cur)
	s.in.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }
