package mailer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
)

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

var report = Message{
	From:    "Shop Hotfix <root@myhost.example.com>",
	To:      []string{"ops@example.com", "root"},
	Subject: "[shop-hotfix] myhost: 3 hotfixes installed",
	Body:    "Installed:\n.\n  shop-hotfix-6_14_2_1\nÄnderungen: keine\n",
}

func checkReceived(t *testing.T, got testutil.Mail, m Message) {
	t.Helper()
	if got.From != "root@myhost.example.com" {
		t.Errorf("MAIL FROM = %q", got.From)
	}
	if strings.Join(got.To, " ") != "ops@example.com root@"+helloName() {
		t.Errorf("RCPT TO = %q", got.To)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatalf("server got an unreadable message: %v\n%s", err, got.Data)
	}
	if from, err := msg.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "root@myhost.example.com" || from[0].Name != "Shop Hotfix" {
		t.Errorf("From header = %q (%v)", msg.Header.Get("From"), err)
	}
	if to := msg.Header.Get("To"); to != "ops@example.com, root@"+helloName() {
		t.Errorf("To header = %q", to)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != m.Subject {
		t.Errorf("Subject = %q, want %q", subject, m.Subject)
	}
	raw, _ := io.ReadAll(msg.Body)
	body := string(raw)
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		body = string(dec)
	}
	if body = strings.ReplaceAll(body, "\r\n", "\n"); body != m.Body {
		t.Errorf("body = %q, want %q", body, m.Body)
	}
	if d, err := msg.Header.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date = %v, %v; want about now", d, err)
	}
}

func TestSMTPDelivers(t *testing.T) {
	rec := testutil.StartSMTP(t, nil)
	addr := rec.Addr
	if err := (SMTP{Addr: addr, Timeout: 3 * time.Second}).Send(context.Background(), report); err != nil {
		t.Fatal(err)
	}
	msgs := rec.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	if msgs[0].TLS {
		t.Error("TLS used though the server offered no STARTTLS")
	}
	checkReceived(t, msgs[0], report)
}

func TestSMTPStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	rec := testutil.StartSMTP(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	addr := rec.Addr

	// Loopback: a self-signed relay certificate is accepted.
	if err := (SMTP{Addr: addr, Timeout: 3 * time.Second}).Send(context.Background(), report); err != nil {
		t.Fatalf("send over STARTTLS to loopback: %v", err)
	}
	// An explicit TLS config is honoured: the right root verifies...
	trusting := SMTP{Addr: addr, Timeout: 3 * time.Second, TLSConfig: &tls.Config{RootCAs: pool}}
	if err := trusting.Send(context.Background(), report); err != nil {
		t.Fatalf("send with the server's root: %v", err)
	}
	// ...and a certificate that does not verify stops the delivery before any data goes out.
	strict := SMTP{Addr: addr, Timeout: 3 * time.Second, TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
	err := strict.Send(context.Background(), report)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("send with an unverifiable certificate: %v, want a STARTTLS error", err)
	}

	msgs := rec.Messages()
	if len(msgs) != 2 {
		t.Fatalf("server got %d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if !m.TLS {
			t.Error("message went in clear though the server offered STARTTLS")
		}
		checkReceived(t, m, report)
	}
}

func TestSMTPRefusedRecipient(t *testing.T) {
	rec := testutil.StartSMTP(t, nil)
	addr := rec.Addr
	m := report
	m.To = []string{"ops@example.com", "refused@example.com"}
	err := (SMTP{Addr: addr, Timeout: 3 * time.Second}).Send(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "refused recipient refused@example.com") || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("err = %v, want the refused recipient and the server's reason", err)
	}
	if n := len(rec.Messages()); n != 0 {
		t.Errorf("server stored %d messages after a refused recipient", n)
	}
}

func TestSMTPUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	start := time.Now()
	err = (SMTP{Addr: addr, Timeout: 2 * time.Second}).Send(context.Background(), report)
	if err == nil || !strings.Contains(err.Error(), "connect to mail server "+addr) {
		t.Fatalf("err = %v, want a connect error naming %s", err, addr)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a closed port took %v to fail", took)
	}
}

// A peer that accepts and never greets: the timeout, not the peer, must end the wait.
func silentPeer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestSMTPTimeout(t *testing.T) {
	addr := silentPeer(t)
	const timeout = 300 * time.Millisecond
	start := time.Now()
	err := (SMTP{Addr: addr, Timeout: timeout}).Send(context.Background(), report)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("gave up after %v, want about %v", took, timeout)
	}
}

func TestSMTPCancel(t *testing.T) {
	addr := silentPeer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := (SMTP{Addr: addr, Timeout: 10 * time.Second}).Send(ctx, report)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cancel took %v to be noticed", took)
	}
}

func TestSMTPRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    SMTP
		m    Message
		want string
	}{
		{"no port", SMTP{Addr: "localhost"}, report, "want host:port"},
		{"no recipient", SMTP{Addr: "127.0.0.1:1"}, Message{From: "a@b.c"}, "no recipient"},
		{"no sender", SMTP{Addr: "127.0.0.1:1"}, Message{To: []string{"a@b.c"}}, "no sender"},
		{"option-like recipient", SMTP{Addr: "127.0.0.1:1"}, Message{From: "a@b.c", To: []string{"-oQ/tmp"}}, "starts with '-'"},
		{"line break", SMTP{Addr: "127.0.0.1:1"}, Message{From: "a@b.c", To: []string{"x@y.z\r\nRCPT TO:<z@z>"}}, "line break"},
		{"garbage address", SMTP{Addr: "127.0.0.1:1"}, Message{From: "a@b.c", To: []string{"two words"}}, "is not a mail address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Send(context.Background(), tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
