package mailer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// foldAt is where header lines are folded (RFC 5322 2.1.1 recommends 78).
	foldAt = 78
	// maxLine is RFC 5322's hard limit on a line, without its CRLF; servers may cut or refuse
	// longer ones, so such a body goes quoted-printable.
	maxLine = 998
	// qpLine is the longest quoted-printable line (RFC 2045 6.7), soft-break "=" included.
	qpLine = 76
	// maxSummary bounds the reason in a subject: the report's body has the whole story.
	maxSummary = 120
)

// Subject builds a report's subject: "[shop-hotfix] myhost: 3 hotfixes installed", or for a
// failure "[shop-hotfix] myhost: FAILED: <summary>". Only the summary's first line is used, cut
// to a length that mail clients show.
func Subject(product, systemName, summary string, failed bool) string {
	s := "[" + product + "-hotfix]"
	if systemName = oneLine(systemName); systemName != "" {
		s += " " + systemName + ":"
	}
	summary = firstLine(summary)
	if r := []rune(summary); len(r) > maxSummary {
		summary = string(r[:maxSummary-3]) + "..."
	}
	switch {
	case failed && summary == "":
		s += " FAILED"
	case failed:
		s += " FAILED: " + summary
	case summary != "":
		s += " " + summary
	}
	return s
}

// messageID makes a Message-ID; tests replace it to get stable output.
var messageID = func(now time.Time, from string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "<" + strconv.FormatInt(now.UnixNano(), 36) + "." + hex.EncodeToString(b) + "@" + idDomain(from) + ">"
}

func idDomain(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			return d
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// Format renders m as an RFC 5322 message with CRLF line ends. The body goes as written (7bit or
// 8bit) unless a line is too long for SMTP or starts with a dot; then it goes quoted-printable,
// with a leading dot written =2E, so that the bytes are safe on any transport: SMTP without dot
// stuffing, `sendmail` without -i, a server that cuts long lines. Header values lose their line
// breaks, so no field of m can add a header.
func Format(m Message, now time.Time) []byte {
	var b bytes.Buffer
	writeHeader(&b, "Date", now.Format(time.RFC1123Z))
	if strings.TrimSpace(m.From) != "" {
		writeHeader(&b, "From", formatAddress(m.From))
	}
	if len(m.To) > 0 {
		to := make([]string, len(m.To))
		for i, a := range m.To {
			to[i] = formatAddress(a)
		}
		writeHeader(&b, "To", strings.Join(to, ", "))
	}
	writeHeader(&b, "Subject", encodeText(oneLine(m.Subject)))
	writeHeader(&b, "Message-ID", oneLine(messageID(now, m.From)))
	writeHeader(&b, "MIME-Version", "1.0")
	writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
	encoding, body := encodeBody(m.Body)
	writeHeader(&b, "Content-Transfer-Encoding", encoding)
	// RFC 3834: tells vacation responders and ticket systems not to answer a machine.
	writeHeader(&b, "Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// writeHeader writes "Name: value", folded at spaces before foldAt where the value allows.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	col := len(name) + 1
	for i, w := range strings.Split(value, " ") {
		if i > 0 && col+1+len(w) > foldAt {
			b.WriteString("\r\n")
			col = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		col += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// formatAddress writes a parseable address in canonical form (a display name with non-ASCII
// letters gets encoded); a bare local name like "root", which sendmail and a local SMTP server
// deliver, stays as it is.
func formatAddress(s string) string {
	s = oneLine(s)
	if a, err := mail.ParseAddress(s); err == nil {
		if a.Name == "" {
			return a.Address
		}
		return a.String()
	}
	return s
}

// encodeText encodes a header text as RFC 2047 words when it is not plain ASCII.
func encodeText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// oneLine turns line breaks and other control characters into spaces.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = oneLine(l); l != "" {
			return l
		}
	}
	return ""
}

// encodeBody returns the Content-Transfer-Encoding and the encoded body with CRLF line ends.
func encodeBody(body string) (string, []byte) {
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	unsafe, ascii := false, true
	for _, l := range lines {
		if len(l) > maxLine || strings.HasPrefix(l, ".") {
			unsafe = true
		}
		for i := 0; i < len(l) && ascii; i++ {
			ascii = l[i] < utf8.RuneSelf
		}
	}
	if unsafe {
		return "quoted-printable", quotedPrintable(lines)
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	if ascii {
		return "7bit", b.Bytes()
	}
	return "8bit", b.Bytes()
}

// quotedPrintable encodes lines per RFC 2045 6.7. mime/quotedprintable does not escape a
// leading dot, which is the reason this encoding is used at all.
func quotedPrintable(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		col := 0
		for i := 0; i < len(l); i++ {
			c := l[i]
			tok := string(c)
			switch {
			case c == '=', c >= 0x7f, c < ' ' && c != '\t',
				(c == ' ' || c == '\t') && i == len(l)-1:
				tok = fmt.Sprintf("=%02X", c)
			}
			if col+len(tok) > qpLine-1 {
				b.WriteString("=\r\n")
				col = 0
			}
			if col == 0 && tok == "." {
				tok = "=2E"
			}
			b.WriteString(tok)
			col += len(tok)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
