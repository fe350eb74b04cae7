package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix/state"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/sysconfig"
)

// threeHosts is a shared LEDGER_DIR of an alpha and two secondaries, seen from the alpha:
// sec1 ran and waits for the alpha, sec2 never recorded a run and lacks 6.14.2.2, which
// holds the alpha's finalize; the alpha's run failed a health check, found drift and left a
// reboot required.
func threeHosts(t *testing.T, role, host string) (*sysconfig.Config, *env) {
	root := t.TempDir()
	files := map[string]string{
		"etc/sysconfig/shop-hotfix":         "PRODUCT=shop\nHOSTNAME=" + host + "\nHOST_ROLE=" + role + "\n",
		"etc/opt/shop/hotfix/version.txt":   "6.14.2.1\n6.14.2.2\n",
		"etc/opt/shop/hotfix/finalized.txt": "6.14.2.1\n",
		"etc/opt/shop/hotfix/alpha1.txt":    "6.14.2.1\n6.14.2.2\n",
		"etc/opt/shop/hotfix/sec1.txt":      "6.14.2.1\n6.14.2.2\n",
		"etc/opt/shop/hotfix/sec2.txt":      "6.14.2.1\n",
		"etc/opt/shop/hotfix/alpha1.status.json": `{"schema": "hotchain.host/1", "host": "alpha1", "role": "alpha", "time": "2026-11-25T04:02:00Z",
 "mode": "cron", "outcome": "failure", "summary": "1 hotfix installed", "error": "hotfix 6.14.2.3 failed its health check",
 "pending": ["6.14.2.3"], "health_failed": "6.14.2.3", "drift": 2,
 "restart": {"reboot": true, "boot_id": "b1", "hotfixes": ["6.14.2.2"], "since": "2026-11-24T04:03:00Z"}}`,
		"etc/opt/shop/hotfix/sec1.status.json": `{"schema": "hotchain.host/1", "host": "sec1", "role": "secondary", "time": "2026-11-25T04:30:00Z",
 "mode": "cron", "outcome": "success", "summary": "1 waiting for the alpha", "pending": ["6.14.2.3"], "waiting": ["6.14.2.3"], "drift": 0}`,
	}
	if role == "alpha" {
		files["etc/sysconfig/shop-hotfix"] += "SECONDARY_HOSTS=sec1,sec2\n"
	}
	for rel, c := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := sysconfig.Load(root, "/etc/sysconfig/shop-hotfix", nil)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	return cfg, &env{stdout: &bytes.Buffer{}, stderr: &stderr}
}

// TestInstallationGolden pins status -installation, text and JSON, on the alpha; a
// secondary (which does not know SECONDARY_HOSTS) sees the same hosts, roles and waits.
func TestInstallationGolden(t *testing.T) {
	cfg, e := threeHosts(t, "alpha", "alpha1")
	st, err := gatherInstallation(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	st.writeText(&text, time.UTC)
	testutil.Golden(t, "testdata/installation.txt", text.Bytes())
	if err := writeJSON(&js, st); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/installation.json", js.Bytes())

	cfg2, e2 := threeHosts(t, "secondary", "sec1")
	st2, err := gatherInstallation(e2, cfg2)
	if err != nil {
		t.Fatal(err)
	}
	var text2 bytes.Buffer
	st2.writeText(&text2, time.UTC)
	// sec2 has no record: from a secondary its role is unknown, so nothing waits for it.
	want := strings.Replace(text.String(), "host sec2 (secondary)\n  applied:     6.14.2.1\n  lacking:     6.14.2.2 (the alpha has applied them)\n", "host sec2 (role unknown)\n  applied:     6.14.2.1\n", 1)
	want = strings.Replace(want, "waits:         alpha1 finalizes 6.14.2.2 after sec2\n", "", 1)
	if text2.String() != want {
		t.Errorf("seen from sec1:\n%s\nwant:\n%s", text2.String(), want)
	}
}

// TestStatusJSONGolden pins the shape of status -json, with its schema.
func TestStatusJSONGolden(t *testing.T) {
	st := &hostStatus{Schema: statusSchema,
		Status: &state.Status{Product: "shop", Host: "host1", Role: "single", ProductVersion: "6.14.2",
			Applied: []string{"6.14.2.1"}, Installation: []string{"6.14.2.1"}},
		Nightly: true, Pending: []string{"6.14.2.2"},
		LastRun: &lastRun{Time: time.Date(2026, 11, 25, 4, 2, 0, 0, time.UTC), Mode: "cron", Outcome: "success",
			Summary: "1 hotfix installed", Installed: []string{"6.14.2.1"}, Pending: []string{"6.14.2.1", "6.14.2.2"}},
		Restart: &restartState{Kind: "services", Services: []string{"shop-web"}, BootID: "b1", Hotfixes: []string{"6.14.2.1"},
			Since: time.Date(2026, 11, 25, 4, 3, 0, 0, time.UTC)},
	}
	var b bytes.Buffer
	if err := writeJSON(&b, st); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/status.json", b.Bytes())
}

// An agent run leaves its record in LEDGER_DIR, which status -installation shows.
func TestAgentWritesHostRecord(t *testing.T) {
	h := newAgentHost(t)
	restartTxt(h, 1, "services shop-web\n")
	o := h.options(modeConsole)
	o.bootID = bootOf("b1")
	if code, out, errs := h.run(o); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	// A file that changed since its hotfix wrote it: the next install run counts it, a
	// -check after it keeps that count.
	h.write("opt/shop/lib/fix2.txt", "edited by hand\n")
	o = h.options(modeConsole)
	o.bootID = bootOf("b1")
	h.run(o)
	h.write("opt/shop/lib/fix3.txt", "edited by hand\n")
	o = h.options(modeCheck)
	o.bootID = bootOf("b1")
	h.run(o)
	rec, err := readHostRecord(h.path("etc/opt/shop/hotfix/host1.status.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Schema != hostRecordSchema || rec.Mode != "check" || rec.Drift == nil || *rec.Drift != 1 || rec.Restart == nil || rec.Restart.Services[0] != "shop-web" {
		data, _ := json.Marshal(rec)
		t.Errorf("record %s", data)
	}
	_, out, errs := h.cliAt("b1", "status", "-installation")
	for _, want := range []string{"host host1 (single)\n  applied:     6.14.2.1 6.14.2.2 6.14.2.3\n", "check, success", "DRIFT:       1 file changed", "RESTART:     restart of shop-web required"} {
		if !strings.Contains(out, want) {
			t.Errorf("status -installation does not say %q:\n%s%s", want, out, errs)
		}
	}
}
