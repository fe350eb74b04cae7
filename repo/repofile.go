package repo

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/boundedio"
	"github.com/hotchain/hotchain/internal/repoconf"
)

// MetadataExpire is how long (seconds) dnf and yum may trust cached metadata. It is short
// because a host must see a hotfix on the night it is published, and the metadata is small.
const MetadataExpire = 300

// RepoName is the repository id in the .repo file: shop-hotfix (repoconf.ID).
func RepoName(product string) string { return repoconf.ID(product) }

// RepoFileName is the file name of the .repo file: shop-hotfix.repo.
func RepoFileName(product string) string { return RepoName(product) + ".repo" }

// KeyPath is where the base RPM installs the vendor's public key on a host, and what the
// .repo file's gpgkey= names.
func KeyPath(product string) string {
	return "/etc/pki/rpm-gpg/RPM-GPG-KEY-" + RepoName(product)
}

// RepoFile is the .repo file of one base version. Each of baseURLs is the URL of the
// repository root, the directory that holds one repository per base version; the file
// names <root>/<baseVersion>/ for each of them (a URL whose last path element already is
// baseVersion is kept as it is). Several URLs go on the one baseurl= key, one per line:
// yum and dnf try them in order, so the later ones are mirrors for failover.
//
// The base version is always the last path element of every URL: that is what
// RewriteBaseVersion replaces when a product patch moves a host to a new base version.
func RepoFile(product, baseVersion string, baseURLs []string, signed bool) []byte {
	id := RepoName(product)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: hotfixes for %s %s, written by hotchain.\n", id, product, baseVersion)
	fmt.Fprintf(&b, "# `hotchain repo-file -base-version V` moves it to another base version.\n")
	fmt.Fprintf(&b, "[%s]\n", id)
	fmt.Fprintf(&b, "name=%s\n", repoTitle(product, baseVersion))
	for i, u := range baseURLs {
		u = versionURL(u, baseVersion)
		if i == 0 {
			fmt.Fprintf(&b, "baseurl=%s\n", u)
		} else {
			fmt.Fprintf(&b, "        %s\n", u)
		}
	}
	b.WriteString("enabled=1\n")
	b.WriteString("gpgcheck=1\n")
	if signed {
		b.WriteString("repo_gpgcheck=1\n")
	} else {
		b.WriteString("repo_gpgcheck=0\n")
	}
	fmt.Fprintf(&b, "gpgkey=file://%s\n", KeyPath(product))
	b.WriteString("skip_if_unavailable=False\n")
	fmt.Fprintf(&b, "metadata_expire=%d\n", MetadataExpire)
	return b.Bytes()
}

func repoTitle(product, baseVersion string) string {
	return fmt.Sprintf("%s hotfixes for %s", product, baseVersion)
}

// versionURL appends baseVersion to a repository root URL, with a trailing slash (dnf joins
// "repodata/repomd.xml" to it), unless the URL already ends in baseVersion.
func versionURL(root, baseVersion string) string {
	u := strings.TrimRight(root, "/")
	if repoconf.LastElem(u) != baseVersion {
		u += "/" + baseVersion
	}
	return u + "/"
}

// RewriteBaseVersion moves the .repo file at path to another base version, atomically and
// keeping its mode: the last path element of every baseurl URL, which must be a base
// version (RepoFile writes it so), becomes newBase, and so does that version where it
// stands as a word in name= and in comments. The file is not written when nothing
// changes.
func RewriteBaseVersion(path, newBase string) error {
	if _, err := hotfix.ParseVersion(newBase); err != nil {
		return fmt.Errorf("new base version: %w", err)
	}
	data, err := repoconf.ReadFile(path)
	if boundedio.IsTooLarge(err) {
		return err
	}
	if err != nil {
		return fmt.Errorf("read repo file: %w", err)
	}
	out, err := rewriteBaseVersion(data, path, newBase)
	if err != nil {
		return err
	}
	if bytes.Equal(out, data) {
		return nil
	}
	return atomicfile.Update(path, out, 0o644)
}

// urlToken is one URL in a baseurl value: dnf splits the list on whitespace and commas.
var urlToken = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^\s,]+`) })

func rewriteBaseVersion(data []byte, path, newBase string) ([]byte, error) {
	f := repoconf.Parse(data)
	var old string
	found := false
	for _, e := range f.Lookup("baseurl") {
		for _, s := range e.Spans {
			var bad error
			text := urlToken().ReplaceAllStringFunc(f.Text(s), func(u string) string {
				trimmed := strings.TrimRight(u, "/")
				elem := repoconf.LastElem(trimmed)
				if _, err := hotfix.ParseVersion(elem); err != nil {
					bad = fmt.Errorf("%s:%d: baseurl %s does not end in a base version: cannot tell what to replace; write the file again with hotchain repo", path, s.Line+1, u)
					return u
				}
				if old != "" && elem != old {
					bad = fmt.Errorf("%s:%d: baseurl %s names base version %s, another URL names %s: make them agree", path, s.Line+1, u, elem, old)
					return u
				}
				old = elem
				found = true
				return strings.TrimSuffix(trimmed, elem) + newBase + u[len(trimmed):]
			})
			if bad != nil {
				return nil, bad
			}
			f.Replace(s, text)
		}
	}
	if !found {
		return nil, fmt.Errorf("%s has no baseurl: cannot move it to base version %s; write it again with hotchain repo", path, newBase)
	}
	if old == newBase {
		return data, nil
	}
	word := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(old) + `($|[^0-9.])`)
	for i, line := range f.Lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") || strings.HasPrefix(t, "name=") || strings.HasPrefix(t, "name =") {
			f.Lines[i] = word.ReplaceAllString(line, "${1}"+newBase+"${2}")
		}
	}
	return f.Bytes(), nil
}
