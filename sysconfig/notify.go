package sysconfig

import (
	"net/url"
	"strings"

	"github.com/hotchain/hotchain/sysconfig/shellword"
)

// notify checks the notification and metrics settings: NOTIFY_URL, NOTIFY_HEADER,
// NOTIFY_CMD, NOTIFY_ON and METRICS_FILE. NOTIFY_HEADER's value is a secret (a token): its
// errors show the header's name only.
func (r *resolver) notify(c *Config, vals map[string]string) {
	c.NotifyURL = r.notifyURL()
	c.NotifyHeader = r.notifyHeader()
	if c.NotifyHeader != "" && c.NotifyURL == "" {
		r.warn("NOTIFY_HEADER", "NOTIFY_HEADER is set but NOTIFY_URL is empty: the header is not sent anywhere")
	}
	c.NotifyCmd = r.command("NOTIFY_CMD")
	switch v := r.text("NOTIFY_ON"); v {
	case NotifyFailure, NotifyChange, NotifyAlways:
		c.NotifyOn = v
	default:
		r.bad("NOTIFY_ON", v, "not a choice: use failure, change (the default) or always")
		c.NotifyOn = NotifyChange
	}
	c.MetricsFile = r.path("METRICS_FILE", vals, true)
	if c.MetricsFile != "" && strings.HasSuffix(shellword.Expand(r.raw("METRICS_FILE"), vals), "/") {
		r.bad("METRICS_FILE", r.text("METRICS_FILE"), "a directory: name the file, e.g. /var/lib/node_exporter/textfile_collector/%s_hotfix.prom", c.Product)
		c.MetricsFile = ""
	}
}

// notifyURL is NOTIFY_URL: empty, or an absolute http or https URL with a host.
func (r *resolver) notifyURL() string {
	v := r.text("NOTIFY_URL")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		r.bad("NOTIFY_URL", v, "not a URL (%v): write e.g. https://alerts.example.com/hotchain", unwrapURLError(err))
	case u.Scheme != "http" && u.Scheme != "https":
		r.bad("NOTIFY_URL", v, "not an http:// or https:// URL: write e.g. https://alerts.example.com/hotchain")
	case u.Host == "" || u.Hostname() == "":
		r.bad("NOTIFY_URL", v, "no host: write e.g. https://alerts.example.com/hotchain")
	case u.User != nil:
		r.bad("NOTIFY_URL", u.Redacted(), "holds a user name or password, which would show in messages: put the credentials in NOTIFY_HEADER, e.g. NOTIFY_HEADER=\"Authorization: Bearer TOKEN\"")
	default:
		return v
	}
	return ""
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// reservedHeaders are set by the HTTP client or by hotchain itself.
var reservedHeaders = []string{"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}

// notifyHeader is NOTIFY_HEADER: empty, or "Name: value" with a header name (an HTTP
// token) and a value without control characters. Messages show "Name: ..." only.
func (r *resolver) notifyHeader() string {
	v := r.text("NOTIFY_HEADER")
	if v == "" {
		return ""
	}
	name, value, ok := strings.Cut(v, ":")
	shown := "(hidden)"
	if ok && validToken(name) {
		shown = name + ": (hidden)"
	}
	value = strings.TrimSpace(value)
	switch {
	case !ok:
		r.bad("NOTIFY_HEADER", shown, "no colon: write one header as \"Name: value\", e.g. NOTIFY_HEADER=\"Authorization: Bearer TOKEN\"")
	case !validToken(name):
		r.bad("NOTIFY_HEADER", shown, "the part before the colon is not a header name (letters, digits and !#$%%&'*+-.^_`|~, no blanks): write \"Name: value\"")
	case value == "":
		r.bad("NOTIFY_HEADER", shown, "the value after the colon is empty")
	case strings.ContainsFunc(value, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }):
		r.bad("NOTIFY_HEADER", shown, "the value holds a control character (a line break?): give one line")
	case containsFold(reservedHeaders, name):
		r.bad("NOTIFY_HEADER", shown, "%s is set by hotchain itself: use another header, e.g. Authorization", name)
	default:
		return name + ": " + value
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

// validToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), as header names are.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
