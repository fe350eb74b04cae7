package sysconfig

import (
	"strings"
	"testing"
)

func init() {
	errorCases = append(errorCases,
		errorCase{"notify url scheme", `NOTIFY_URL=ftp://alerts.example.com/x`, "NOTIFY_URL", "ftp://alerts.example.com/x", "not an http:// or https:// URL"},
		errorCase{"notify url relative", `NOTIFY_URL=alerts.example.com/x`, "NOTIFY_URL", "alerts.example.com/x", "not an http:// or https:// URL"},
		errorCase{"notify url no host", `NOTIFY_URL=https:///x`, "NOTIFY_URL", "https:///x", "no host"},
		errorCase{"notify url bad", `NOTIFY_URL="http://a b/"`, "NOTIFY_URL", "http://a b/", "not a URL"},
		errorCase{"notify url password", `NOTIFY_URL=https://u:secret@alerts.example.com/`, "NOTIFY_URL", "https://u:xxxxx@alerts.example.com/", "put the credentials in NOTIFY_HEADER"},
		errorCase{"notify header no colon", `NOTIFY_HEADER="Bearer s3cret"`, "NOTIFY_HEADER", "(hidden)", "no colon"},
		errorCase{"notify header bad name", `NOTIFY_HEADER="X Token: s3cret"`, "NOTIFY_HEADER", "(hidden)", "not a header name"},
		errorCase{"notify header empty value", `NOTIFY_HEADER="X-Token:  "`, "NOTIFY_HEADER", "X-Token: (hidden)", "value after the colon is empty"},
		errorCase{"notify header reserved", `NOTIFY_HEADER="Content-Type: text/plain"`, "NOTIFY_HEADER", "Content-Type: (hidden)", "set by hotchain itself"},
		errorCase{"notify command cannot be split", `NOTIFY_CMD="page 'x"`, "NOTIFY_CMD", "page 'x", "cannot be split"},
		errorCase{"notify on", `NOTIFY_ON=changes`, "NOTIFY_ON", "changes", "use failure, change (the default) or always"},
		errorCase{"metrics file relative", `METRICS_FILE=hotfix.prom`, "METRICS_FILE", "hotfix.prom", "not an absolute path"},
		errorCase{"metrics file directory", `METRICS_FILE=/var/lib/node_exporter/`, "METRICS_FILE", "/var/lib/node_exporter/", "a directory: name the file"},
	)
}

// A bad NOTIFY_HEADER never shows its value: it may hold a token.
func TestNotifyHeaderSecretNotShown(t *testing.T) {
	for _, line := range []string{`NOTIFY_HEADER="Bearer s3cret"`, `NOTIFY_HEADER="X Tok: s3cret"`,
		`NOTIFY_HEADER="Host: s3cret"`} {
		_, err := load(t, "PRODUCT=shop\n"+line+"\n")
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %v; want one that does not show the value", line, err)
		}
	}
	// A line break can only come from the environment (the file's values are one line).
	_, err := load(t, "PRODUCT=shop\n", "NOTIFY_HEADER=X-Token: s3cret\r\nEvil: s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), `NOTIFY_HEADER="X-Token: (hidden)" (overrides the settings file): the value holds a control character`) {
		t.Errorf("header with a line break: error %v", err)
	}
}

func TestNotifySettings(t *testing.T) {
	c := mustLoad(t, "PRODUCT=shop\nNOTIFY_URL=https://alerts.example.com:8443/hook?x=1\nNOTIFY_HEADER=\"Authorization:Bearer  abc \"\n"+
		"NOTIFY_CMD=\"/usr/bin/page --json\"\nNOTIFY_ON=failure\nMETRICS_FILE=/var/lib/node_exporter/textfile_collector/${PRODUCT}_hotfix.prom\n")
	if c.NotifyURL != "https://alerts.example.com:8443/hook?x=1" || c.NotifyHeader != "Authorization: Bearer  abc" ||
		c.NotifyCmd != "/usr/bin/page --json" || c.NotifyOn != NotifyFailure ||
		c.MetricsFile != "/var/lib/node_exporter/textfile_collector/shop_hotfix.prom" {
		t.Errorf("got %q %q %q %q %q", c.NotifyURL, c.NotifyHeader, c.NotifyCmd, c.NotifyOn, c.MetricsFile)
	}
	d := Defaults("shop")
	if d.NotifyOn != NotifyChange || d.NotifyURL != "" || d.MetricsFile != "" {
		t.Errorf("defaults: NOTIFY_ON %q, NOTIFY_URL %q, METRICS_FILE %q", d.NotifyOn, d.NotifyURL, d.MetricsFile)
	}
	// Written back and loaded again, the settings are the same.
	again := mustLoad(t, string(settingsText(c)))
	sameConfig(t, again, c)

	c = mustLoad(t, "PRODUCT=shop\nNOTIFY_HEADER=\"X-Token: tok3n\"\n")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "NOTIFY_URL is empty") || strings.Contains(c.Warnings[0], "tok3n") {
		t.Errorf("warnings %q", c.Warnings)
	}
}
