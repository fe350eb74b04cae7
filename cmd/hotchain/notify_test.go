package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotchain/hotchain/internal/agent"
	"github.com/hotchain/hotchain/internal/agent/notify"
	"github.com/hotchain/hotchain/internal/cli"
)

// Notifications against a real HTTP server on loopback (httptest) and a real NOTIFY_CMD.

// hook is a webhook that records what it gets and answers with answer.
type hook struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	answer func(w http.ResponseWriter, r *http.Request)
	srv    *httptest.Server
}

func startHook(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *hook {
	h := &hook{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.heads = append(h.heads, r.Header.Clone())
		answer := h.answer
		h.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/hook" {
			http.Error(w, "want POST /hook", http.StatusBadRequest)
			return
		}
		if answer != nil {
			answer(w, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url() string { return h.srv.URL + "/hook" }

func (h *hook) got() ([][]byte, []http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), append([]http.Header(nil), h.heads...)
}

// fastNotify keeps the tests of failing deliveries short.
var fastNotify = notify.Limits{Timeout: 300 * time.Millisecond, Tries: 3, Backoff: 10 * time.Millisecond}

func TestNotifyWebhookAndCommand(t *testing.T) {
	wh := startHook(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken-42" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad headers", http.StatusUnauthorized)
		}
	})
	h := newAgentHost(t)
	cmdOut := filepath.Join(t.TempDir(), "stdin.json")
	h.write("etc/sysconfig/shop-hotfix", agentSettings+"NOTIFY_URL="+wh.url()+"\nNOTIFY_HEADER=\"Authorization: Bearer t0ken-42\"\n"+
		"NOTIFY_CMD=\"tee "+cmdOut+"\"\n")
	h.load()
	code, stdout, stderr := h.run(h.options(agent.ModeCron))
	if code != 0 || strings.Contains(stdout+stderr, "t0ken") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the token never shown", code, stdout, stderr)
	}
	bodies, heads := wh.got()
	if len(bodies) != 1 {
		t.Fatalf("%d POSTs, want 1", len(bodies))
	}
	if heads[0].Get("Authorization") != "Bearer t0ken-42" {
		t.Errorf("headers %v", heads[0])
	}
	var n notify.Document
	if err := json.Unmarshal(bodies[0], &n); err != nil {
		t.Fatalf("%v:\n%s", err, bodies[0])
	}
	if n.Schema != notify.Schema || n.Outcome != "success" || n.Host.Name != "host1" || n.Installation.Product != "shop" ||
		strings.Join(n.Hotfixes.Installed, " ") != "6.14.2.1 6.14.2.2 6.14.2.3" || strings.Join(n.Host.Applied, " ") != "6.14.2.1 6.14.2.2 6.14.2.3" ||
		!strings.Contains(n.Report, "Installed: 6.14.2.1 6.14.2.2 6.14.2.3") {
		t.Errorf("notification:\n%s", bodies[0])
	}
	fromCmd, err := os.ReadFile(cmdOut)
	if err != nil || string(fromCmd) != string(bodies[0]) {
		t.Errorf("NOTIFY_CMD got %q (%v), want the webhook's document", fromCmd, err)
	}

	// NOTIFY_ON=change (the default): a run that changes nothing is not notified.
	if code, _, stderr := h.run(h.options(agent.ModeCron)); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if bodies, _ := wh.got(); len(bodies) != 1 {
		t.Errorf("a run with nothing to do was notified (%d POSTs)", len(bodies))
	}
	// NOTIFY_ON=always: it is.
	h.write("etc/sysconfig/shop-hotfix", agentSettings+"NOTIFY_URL="+wh.url()+"\nNOTIFY_HEADER=\"Authorization: Bearer t0ken-42\"\nNOTIFY_ON=always\n")
	h.load()
	if code, _, stderr := h.run(h.options(agent.ModeCron)); code != 0 {
		t.Fatalf("third run: exit %d: %s", code, stderr)
	}
	if bodies, _ := wh.got(); len(bodies) != 2 || !strings.Contains(string(bodies[1]), `"summary": ""`) {
		t.Errorf("NOTIFY_ON=always: %d POSTs", len(bodies))
	}
}

// A webhook that answers 500 is tried 3 times; the install stands, the run exits 4.
func TestNotifyWebhook500(t *testing.T) {
	wh := startHook(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	})
	h := newAgentHost(t, "NOTIFY_URL="+wh.url()+"?key=s3cret", `NOTIFY_HEADER="X-Token: t0ken"`)
	o := h.options(agent.ModeCron)
	o.NotifyLimits = fastNotify
	code, _, stderr := h.run(o)
	if code != cli.ExitNotMailed {
		t.Fatalf("exit %d, want %d; stderr %q", code, cli.ExitNotMailed, stderr)
	}
	if bodies, _ := wh.got(); len(bodies) != 3 {
		t.Errorf("%d tries, want 3", len(bodies))
	}
	if !strings.Contains(stderr, "hotchain: notification not delivered: POST "+wh.url()+"?...: the server answered 500 Internal Server Error: database down\n") ||
		!strings.Contains(stderr, "hint: check NOTIFY_URL") || strings.Contains(stderr, "s3cret") || strings.Contains(stderr, "t0ken") {
		t.Errorf("stderr %q", stderr)
	}
	if h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q: the install did not stand", h.ledger("host1.txt"))
	}
	if s := strings.Join(h.syslog, "\n"); !strings.Contains(s, "failed=true: notification not delivered") {
		t.Errorf("syslog:\n%s", s)
	}

	// A redirect is not followed (it would take the header elsewhere), nor retried.
	wh.mu.Lock()
	wh.answer = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusTemporaryRedirect)
	}
	wh.mu.Unlock()
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	if code, _, stderr := h.run(o); code != cli.ExitNotMailed || !strings.Contains(stderr, "the server answered 307 Temporary Redirect") {
		t.Errorf("redirect: exit %d, stderr %q", code, stderr)
	}
	if bodies, _ := wh.got(); len(bodies) != 4 {
		t.Errorf("redirect: %d POSTs in all, want 4 (no retry)", len(bodies))
	}

	// A client error is not retried.
	wh.mu.Lock()
	wh.answer = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such hook", http.StatusNotFound) }
	wh.mu.Unlock()
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.5") })
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.5/version.txt", "6.14.2.5\n")
	if code, _, stderr := h.run(o); code != cli.ExitNotMailed || !strings.Contains(stderr, "the server answered 404 Not Found: no such hook") {
		t.Errorf("404: exit %d, stderr %q", code, stderr)
	}
	if bodies, _ := wh.got(); len(bodies) != 5 {
		t.Errorf("404: %d POSTs in all, want 5 (no retry)", len(bodies))
	}
}

// A webhook that never answers holds the run only as long as the timeout and tries say.
func TestNotifyWebhookHangs(t *testing.T) {
	release := make(chan struct{})
	wh := startHook(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	h := newAgentHost(t, "NOTIFY_URL="+wh.url())
	o := h.options(agent.ModeConsole)
	o.NotifyLimits = notify.Limits{Timeout: 200 * time.Millisecond, Tries: 2, Backoff: 10 * time.Millisecond}
	start := time.Now()
	code, _, stderr := h.run(o)
	took := time.Since(start)
	if code != cli.ExitNotMailed || !strings.Contains(stderr, "no answer within 200ms") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if took > 3*time.Second {
		t.Errorf("the run took %s: the timeout did not bound it", took)
	}
	if h.ledger("host1.txt") != "6.14.2.1 6.14.2.2 6.14.2.3" {
		t.Errorf("ledger %q", h.ledger("host1.txt"))
	}
}

// A failed run keeps its own exit status; the failed notification is said on stderr.
// NOTIFY_ON=failure notifies only failures.
func TestNotifyCmdFailsOnFailedRun(t *testing.T) {
	h := newAgentHost(t, `NOTIFY_CMD="sh -c 'cat >/dev/null; echo pager down >&2; exit 3'"`, "NOTIFY_ON=failure")
	if code, _, stderr := h.run(h.options(agent.ModeCron)); code != 0 {
		t.Fatalf("a run that worked: exit %d, stderr %q; want 0 (NOTIFY_ON=failure)", code, stderr)
	}
	h.editSpec(func(s *fakeSpec) { s.Offered = append(s.Offered, "6.14.2.4") })
	h.write("var/opt/shop/Patches/shop-hotfix-6.14.2.4/Install/10-fail.sh", "exit 3\n")
	code, _, stderr := h.run(h.options(agent.ModeCron))
	if code != cli.ExitFailure || !strings.Contains(stderr, "hotchain: notification not delivered: NOTIFY_CMD sh: exit status 3: pager down\n") {
		t.Errorf("exit %d, stderr %q; want 1 and the notification's failure", code, stderr)
	}
}
