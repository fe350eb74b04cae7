package rollout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hotchain/hotchain/internal/boundedio"
)

// ErrNotFound means the repository answered and does not have the file (HTTP 404 or 410,
// or no such file under a file:// baseurl).
var ErrNotFound = errors.New("not found")

// FetchTimeout bounds one fetch over HTTP: the policy is a few KiB.
const FetchTimeout = 30 * time.Second

// Fetch reads the file name (relative, like "rollout.json") of the repository at baseURL
// (http://, https:// or file://, as a .repo file's baseurl), at most limit bytes. A
// file:// URL names a path on the machine the agent runs on, as dnf reads it.
func Fetch(ctx context.Context, client *http.Client, baseURL, name string, limit int64) ([]byte, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("baseurl %q: %w", baseURL, err)
	}
	switch u.Scheme {
	case "file":
		p := path.Join(u.Path, name)
		data, err := boundedio.ReadFile(p, name, limit)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		if err != nil && !boundedio.IsTooLarge(err) {
			err = fmt.Errorf("read %s: %w", p, err)
		}
		return data, err
	case "http", "https":
	default:
		return nil, fmt.Errorf("baseurl %q: scheme %q: hotchain reads http, https and file URLs", baseURL, u.Scheme)
	}
	full := strings.TrimRight(baseURL, "/") + "/" + name
	if client == nil {
		client = &http.Client{Timeout: FetchTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", full, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s: %w", full, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("get %s: %s", full, resp.Status)
	}
	return boundedio.ReadAll(resp.Body, full, name, limit)
}
