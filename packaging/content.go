package packaging

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
)

// maxFileSize is the largest file a hotfix may hold: rpm's 32-bit file size tags.
const maxFileSize = 1<<32 - 1

// content is a validated hotfix directory: what both the RPM and the tarball are made of,
// so that they cannot differ. File contents stay on disk; each build reads them as it
// writes them and checks them against the SHA-256 taken here.
type content struct {
	dir      *hotfix.Dir
	version  hotfix.Version
	items    []item // byte order of rel; filelist.txt included
	filelist bool   // filelist.txt was written by the build (the source had none)
	newest   time.Time
}

// item is one entry of the hotfix directory, relative to it.
type item struct {
	rel    string
	mode   fs.FileMode
	src    string // regular files on disk: the path to read
	size   int64  // of the file at src
	sha256 string // that the file at src must have
	body   []byte // regular files made by the build (filelist.txt)
	link   string // symlinks
}

func (it item) isDir() bool  { return it.mode.IsDir() }
func (it item) isLink() bool { return it.mode&fs.ModeSymlink != 0 }

// loadContent validates the hotfix directory src (hotfix.ReadDir, which hashes every file)
// and checks its filelist.txt or makes one.
func loadContent(src string) (*content, error) {
	d, err := hotfix.ReadDir(filepath.Clean(src))
	if err != nil {
		return nil, err
	}
	c := &content{dir: d, version: d.Version}
	if _, err := d.Restart(); err != nil {
		return nil, err
	}
	if d.HasFilelist {
		if err := d.CheckFilelist(); err != nil {
			return nil, err
		}
	}
	for _, e := range d.Entries {
		if hotfix.HasControl(e.Rel) {
			return nil, fmt.Errorf("%s: file name %q holds a control character (a newline, a tab): rename it, filelist.txt and rpm cannot hold it", d.Path, e.Rel)
		}
		// Never setuid or setgid in a package: rpm would make such a file in PATCHES_DIR,
		// and apply and the tarball unpack strip the bits anyway (plan.PlacedMode).
		it := item{rel: e.Rel, mode: e.Mode &^ (fs.ModeSetuid | fs.ModeSetgid)}
		switch {
		case e.Mode.IsRegular():
			if e.Size > maxFileSize {
				return nil, fmt.Errorf("%s: %s is %d bytes: a hotfix file must be smaller than 4 GiB", d.Path, e.Rel, e.Size)
			}
			it.src, it.size, it.sha256 = filepath.Join(d.Path, filepath.FromSlash(e.Rel)), e.Size, e.SHA256
		case e.Mode&fs.ModeSymlink != 0:
			it.link = e.Link
		}
		if !e.Mode.IsDir() && e.ModTime.After(c.newest) {
			c.newest = e.ModTime
		}
		c.items = append(c.items, it)
	}
	if !d.HasFilelist {
		c.filelist = true
		c.items = append(c.items, item{rel: hotfix.FilelistFile, mode: 0o644, body: d.Filelist()})
		sort.Slice(c.items, func(i, j int) bool { return c.items[i].rel < c.items[j].rel })
	}
	return c, nil
}

// file returns the content of the small regular file rel (fixed-bugs.txt), if there is one.
func (c *content) file(rel string) ([]byte, bool) {
	for _, it := range c.items {
		if it.rel != rel || !it.mode.IsRegular() {
			continue
		}
		if it.src == "" {
			return it.body, true
		}
		// The packages carry the file itself, checked as it is packed; a summary read from
		// a file that changes meanwhile fails the build there.
		b, err := os.ReadFile(it.src)
		return b, err == nil
	}
	return nil, false
}

// summary is the first line of fixed-bugs.txt, else "shop hotfix 6.14.2.3".
func (c *content) summary(product string) string {
	if b, ok := c.file(hotfix.FixedBugsFile); ok {
		for _, line := range strings.Split(strings.ToValidUTF8(string(b), "?"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				return line
			}
		}
	}
	return fmt.Sprintf("%s hotfix %s", product, c.version)
}

// description is fixed-bugs.txt, else the summary.
func (c *content) description(product string) string {
	if b, ok := c.file(hotfix.FixedBugsFile); ok {
		if d := strings.TrimRight(strings.ToValidUTF8(string(b), "?"), " \t\r\n"); strings.TrimSpace(d) != "" {
			return d
		}
	}
	return c.summary(product)
}
