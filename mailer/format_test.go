package mailer

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/testutil"
)

var fixedTime = time.Date(2026, time.March, 14, 4, 2, 7, 0, time.FixedZone("CET", 3600))

// fixedMessageID makes Format's output stable for the duration of a test.
func fixedMessageID(t *testing.T) {
	t.Helper()
	old := messageID
	messageID = func(now time.Time, from string) string {
		return "<" + now.UTC().Format("20060102150405") + ".test@" + idDomain(from) + ">"
	}
	t.Cleanup(func() { messageID = old })
}

var formatCases = []struct {
	name string
	msg  Message
	// wantBody is the body a reader decodes; "" means msg.Body plus a final newline.
	wantBody string
}{
	{
		name: "installed",
		msg: Message{
			From:    "root@myhost.example.com",
			To:      []string{"ops@example.com", "Shop Admins <admins@example.com>"},
			Subject: Subject("shop", "myhost", "3 hotfixes installed", false),
			Body: "Installed on myhost:\n" +
				"  shop-hotfix-6_14_2_1-1-0.noarch\n" +
				"  shop-hotfix-6_14_2_2-1-0.noarch\n" +
				"  shop-hotfix-6_14_2_3-1-0.noarch\n",
		},
	},
	{
		name: "failed-utf8",
		msg: Message{
			From:    `"Müller Ops" <root@myhost.example.com>`,
			To:      []string{"root"},
			Subject: Subject("shop", "myhost", "install script 20-migrate-shared.sh failed: Zähler überschritten\nmore", true),
			Body:    "Fehler: Zähler überschritten\r\nsee the install log\n",
		},
		wantBody: "Fehler: Zähler überschritten\nsee the install log\n",
	},
	{
		name: "dots-and-long-lines",
		msg: Message{
			From:    "root@myhost.example.com",
			To:      []string{"ops@example.com"},
			Subject: "[shop-hotfix] myhost: a subject long enough that it has to be folded somewhere before the end of it",
			Body: "dnf said:\n" +
				".\n" +
				"..hidden\n" +
				"a = b, trailing space \n" +
				strings.Repeat("x", 1200) + "\n" +
				"Ω end",
		},
	},
	{
		name: "header-injection",
		msg: Message{
			From:    "root@myhost.example.com",
			To:      []string{"ops@example.com"},
			Subject: "ok\r\nBcc: victim@example.com",
			Body:    "body\n",
		},
	},
}

func TestFormatGolden(t *testing.T) {
	fixedMessageID(t)
	for _, tc := range formatCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Format(tc.msg, fixedTime)
			testutil.Golden(t, filepath.Join("testdata", tc.name+".eml"), got)
		})
	}
}

// TestFormatWellFormed reads Format's output back with net/mail and the MIME decoders, and checks
// the wire rules that the golden files only show.
func TestFormatWellFormed(t *testing.T) {
	fixedMessageID(t)
	for _, tc := range formatCases {
		t.Run(tc.name, func(t *testing.T) {
			raw := Format(tc.msg, fixedTime)
			for i, line := range bytes.SplitAfter(raw, []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				if !bytes.HasSuffix(line, []byte("\r\n")) || bytes.Count(line, []byte("\r")) != 1 {
					t.Errorf("line %d does not end in a lone CRLF: %q", i+1, line)
				}
				if len(line)-2 > maxLine {
					t.Errorf("line %d is %d bytes long", i+1, len(line)-2)
				}
				if line[0] == '.' {
					t.Errorf("line %d starts with a dot: %q", i+1, line)
				}
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Header
			if d, err := h.Date(); err != nil || !d.Equal(fixedTime) {
				t.Errorf("Date = %v, %v; want %v", d, err, fixedTime)
			}
			from, err := mail.ParseAddress(h.Get("From"))
			if err != nil {
				t.Fatal(err)
			}
			wantFrom, _ := mail.ParseAddress(tc.msg.From)
			if *from != *wantFrom {
				t.Errorf("From = %+v, want %+v", from, wantFrom)
			}
			if got, want := len(strings.Split(h.Get("To"), ",")), len(tc.msg.To); got != want {
				t.Errorf("To = %q: %d addresses, want %d", h.Get("To"), got, want)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			if want := oneLine(tc.msg.Subject); subject != want {
				t.Errorf("Subject = %q, want %q", subject, want)
			}
			if len(h["Bcc"]) != 0 {
				t.Error("a Bcc header got in through the subject")
			}
			for k, want := range map[string]string{
				"MIME-Version":   "1.0",
				"Content-Type":   "text/plain; charset=utf-8",
				"Auto-Submitted": "auto-generated",
				"Message-Id":     "<20260314030207.test@myhost.example.com>",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var body io.Reader = msg.Body
			if h.Get("Content-Transfer-Encoding") == "quoted-printable" {
				body = quotedprintable.NewReader(body)
			}
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.wantBody
			if want == "" {
				want = strings.TrimSuffix(tc.msg.Body, "\n") + "\n"
			}
			if s := strings.ReplaceAll(string(got), "\r\n", "\n"); s != want {
				t.Errorf("decoded body = %q, want %q", s, want)
			}
		})
	}
}

func TestBodyEncodingChoice(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"plain ascii\n", "7bit"},
		{"Grüße\n", "8bit"},
		{"a\n.\nb\n", "quoted-printable"},
		{strings.Repeat("y", maxLine) + "\n", "7bit"},
		{strings.Repeat("y", maxLine+1) + "\n", "quoted-printable"},
	} {
		if got, _ := encodeBody(tc.body); got != tc.want {
			t.Errorf("encodeBody(%.20q...) = %s, want %s", tc.body, got, tc.want)
		}
	}
}

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		product, system, summary string
		failed                   bool
		want                     string
	}{
		{"shop", "myhost", "3 hotfixes installed", false, "[shop-hotfix] myhost: 3 hotfixes installed"},
		{"shop", "myhost", "repository shop-hotfix unreachable", true, "[shop-hotfix] myhost: FAILED: repository shop-hotfix unreachable"},
		{"shop", "myhost", "", true, "[shop-hotfix] myhost: FAILED"},
		{"shop", "myhost", "\n  dnf exited 1\nTraceback ...\n", true, "[shop-hotfix] myhost: FAILED: dnf exited 1"},
		{"shop", "", "1 hotfix downloaded", false, "[shop-hotfix] 1 hotfix downloaded"},
		{"shop", "my\nhost", "x", false, "[shop-hotfix] my host: x"},
		{"shop", "h", strings.Repeat("é", 200), true, "[shop-hotfix] h: FAILED: " + strings.Repeat("é", maxSummary-3) + "..."},
	} {
		if got := Subject(tc.product, tc.system, tc.summary, tc.failed); got != tc.want {
			t.Errorf("Subject(%q, %q, %q, %v) = %q, want %q", tc.product, tc.system, tc.summary, tc.failed, got, tc.want)
		}
	}
}

func TestDefaultMessageID(t *testing.T) {
	a := messageID(fixedTime, "root@myhost.example.com")
	b := messageID(fixedTime, "root@myhost.example.com")
	if a == b {
		t.Errorf("two Message-IDs at the same time are equal: %s", a)
	}
	if !strings.HasPrefix(a, "<") || !strings.HasSuffix(a, "@myhost.example.com>") {
		t.Errorf("Message-ID %q: want <...@myhost.example.com>", a)
	}
}
