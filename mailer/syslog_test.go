package mailer

import (
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listenSyslog points Syslog at a datagram socket of the test's own and returns it.
func listenSyslog(t *testing.T) *net.UnixConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	old := dialSyslog
	dialSyslog = func(p syslog.Priority, tag string) (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, p, tag)
	}
	t.Cleanup(func() { dialSyslog = old })
	return conn
}

func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no syslog datagram: %v", err)
	}
	return string(buf[:n])
}

func TestSyslog(t *testing.T) {
	conn := listenSyslog(t)
	for _, tc := range []struct {
		line   string
		failed bool
		pri    string // facility user (1) * 8 + severity
		want   string
	}{
		{"3 hotfixes installed: 6.14.2.1 6.14.2.2 6.14.2.3", false, "<14>", "3 hotfixes installed: 6.14.2.1 6.14.2.2 6.14.2.3"},
		{"FAILED: dnf exited 1\nTraceback", true, "<11>", "FAILED: dnf exited 1 Traceback"},
	} {
		if err := Syslog("shop-hotfix", tc.line, tc.failed); err != nil {
			t.Fatal(err)
		}
		got := readDatagram(t, conn)
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(tc.pri) + `.* shop-hotfix\[\d+\]: ` + regexp.QuoteMeta(tc.want) + `\n?$`)
		if !re.MatchString(got) {
			t.Errorf("syslog got %q, want priority %s, tag shop-hotfix and %q", got, tc.pri, tc.want)
		}
	}
}

func TestSyslogUnreachable(t *testing.T) {
	for _, p := range []string{"/dev/log", "/var/run/syslog", "/var/run/log"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			t.Skipf("this host has a syslog socket (%s): the unreachable case cannot be shown", p)
		}
	}
	start := time.Now()
	err := Syslog("shop-hotfix", "nothing to do", false)
	if err == nil || !strings.HasPrefix(err.Error(), "syslog: ") {
		t.Fatalf("err = %v, want a syslog error", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v to give up", took)
	}
}
