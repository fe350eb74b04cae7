package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strings"
	"time"
)

// SMTP sends through the SMTP server at Addr (host:port) with net/smtp: no authentication,
// STARTTLS when the server offers it. Timeout bounds the whole delivery (DefaultTimeout when 0).
//
// TLSConfig, when set, is used for STARTTLS as given. Otherwise the server's certificate is
// verified against the system roots, except on a loopback address: a local relay's certificate
// is usually self-signed (postfix on RHEL ships one), and traffic that never leaves the host
// gains nothing from verification.
type SMTP struct {
	Addr      string
	Timeout   time.Duration
	TLSConfig *tls.Config
}

// Send delivers m. The Date of the message is the time of sending.
func (s SMTP) Send(ctx context.Context, m Message) (err error) {
	if err := check(m, true); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mail server %q: want host:port, like localhost:25", s.Addr)
	}
	// SMTP wants user@domain (RFC 5321 4.1.2); a bare "root" gets this host's name, as
	// sendmail and mailx would add it.
	m.From = qualify(m.From)
	m.To = append([]string(nil), m.To...)
	for i := range m.To {
		m.To[i] = qualify(m.To[i])
	}
	from, err := envelopeAddress(m.From)
	if err != nil {
		return err
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		if to[i], err = envelopeAddress(a); err != nil {
			return err
		}
	}

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		// The socket only reports "i/o timeout"; say whether it was the deadline or a cancel.
		// Its deadline is ctx's, so a timeout means ctx's time is up even if ctx's own timer
		// has not fired yet.
		if err == nil {
			return
		}
		cerr := ctx.Err()
		var ne net.Error
		if cerr == nil && errors.As(err, &ne) && ne.Timeout() {
			cerr = context.DeadlineExceeded
		}
		if cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", err, cerr)
		}
	}()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("connect to mail server %s: %w", s.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A cancel (not only the deadline) must unblock a read that waits on a silent server.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail server %s: greeting: %w", s.Addr, err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("mail server %s: EHLO: %w", s.Addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.tlsConfig(host)); err != nil {
			return fmt.Errorf("mail server %s: STARTTLS: %w", s.Addr, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail server %s refused sender %s: %w", s.Addr, from, err)
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return fmt.Errorf("mail server %s refused recipient %s: %w", s.Addr, a, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail server %s: DATA: %w", s.Addr, err)
	}
	if _, err := w.Write(Format(m, time.Now())); err != nil {
		return fmt.Errorf("mail server %s: send message: %w", s.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail server %s did not accept the message: %w", s.Addr, err)
	}
	// The message is accepted once DATA ends; a failing QUIT loses nothing.
	_ = c.Quit()
	return nil
}

func (s SMTP) tlsConfig(host string) *tls.Config {
	if s.TLSConfig != nil {
		cfg := s.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		return cfg
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if isLoopback(host) {
		cfg.InsecureSkipVerify = true
	}
	return cfg
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// envelopeAddress returns the bare address for MAIL FROM and RCPT TO. A local name without a
// domain ("root", the classic MAILTO) is passed on: local servers deliver it.
func envelopeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address, nil
	}
	if s == "" || strings.ContainsAny(s, " <>\"(),;:\t") {
		return "", fmt.Errorf("%q is not a mail address: want user@example.com or Name <user@example.com>", s)
	}
	return s, nil
}

// qualify adds "@<host name>" to a bare local name; anything else is returned as it is.
func qualify(a string) string {
	a = strings.TrimSpace(a)
	if a == "" || strings.ContainsAny(a, "@ <>\"(),;:\t") {
		return a
	}
	return a + "@" + helloName()
}

func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, "\r\n ") {
		return h
	}
	return "localhost"
}
