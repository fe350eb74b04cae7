package bundle

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/atomicfile"
	"github.com/hotchain/hotchain/internal/sign"
	"github.com/hotchain/hotchain/packaging/unpack"
)

// Packing an offline bundle (Make, bundle.go). The format, and the host's reading of it,
// are packaging/unpack's (bundle.go there).

// write writes the bundle of manifest m to out: the files of m.Files, read from the
// staging directory stage, in the fixed layout, as a reproducible PAX tar (entries in byte
// order, owner root, every mtime mtime, modes 0755 and 0644), and its signature by key to
// out.sig. Each file is checked against its size and SHA-256 in m while it is copied. Both
// are written to temporary files beside out and renamed into place only when complete.
func write(out, stage string, m *unpack.BundleManifest, mtime time.Time, key *sign.TarballKey) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("bundle manifest: %w", err)
	}
	from, _ := hotfix.ParseVersion(m.From)
	to, _ := hotfix.ParseVersion(m.To)
	top := unpack.BundleTopDir(m.Product, from, to)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest = append(manifest, '\n')
	dir := filepath.Dir(out)
	f, err := os.CreateTemp(dir, ".hotchain-tmp-*")
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	temps := []string{f.Name()}
	defer func() {
		f.Close()
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	tw := tar.NewWriter(f)
	when := time.Unix(mtime.Unix(), 0)
	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, Uname: "root", Gname: "root", ModTime: when, Format: tar.FormatPAX}
	}
	type ent struct {
		rel  string
		file *unpack.BundleFile
	}
	ents := []ent{{rel: "manifest.json"}, {rel: "repodata/"}}
	for i := range m.Files {
		ents = append(ents, ent{rel: m.Files[i].Path, file: &m.Files[i]})
	}
	slices.SortFunc(ents, func(a, b ent) int { return strings.Compare(a.rel, b.rel) })
	if err := tw.WriteHeader(hdr(top+"/", tar.TypeDir, 0o755, 0)); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	buf := make([]byte, 128<<10) // as packaging copies payloads
	for _, e := range ents {
		name := top + "/" + e.rel
		switch {
		case strings.HasSuffix(e.rel, "/"):
			err = tw.WriteHeader(hdr(name, tar.TypeDir, 0o755, 0))
		case e.file == nil:
			if err = tw.WriteHeader(hdr(name, tar.TypeReg, 0o644, int64(len(manifest)))); err == nil {
				_, err = tw.Write(manifest)
			}
		default:
			if err = tw.WriteHeader(hdr(name, tar.TypeReg, 0o644, e.file.Size)); err == nil {
				err = copyFile(tw, filepath.Join(stage, filepath.FromSlash(e.rel)), e.file, buf)
			}
		}
		if err != nil {
			return fmt.Errorf("write bundle entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	sig, err := key.SignFile(f.Name())
	if err != nil {
		return err
	}
	sf, err := os.CreateTemp(dir, ".hotchain-tmp-*")
	if err != nil {
		return fmt.Errorf("write %s.sig: %w", out, err)
	}
	temps = append(temps, sf.Name())
	_, err = sf.Write(sig)
	if err == nil {
		err = sf.Chmod(0o644)
	}
	if err == nil {
		err = sf.Sync()
	}
	if cerr := sf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s.sig: %w", out, err)
	}
	// Both complete and synced before either is renamed into place. Between the two
	// renames a new bundle sits beside an old .sig, which import refuses: never the other
	// way round.
	for i, dst := range []string{out, out + ".sig"} {
		if err := os.Rename(temps[i], dst); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	temps = nil
	return atomicfile.SyncDir(dir)
}

// copyFile copies the file at src into w, checking it against f's size and SHA-256.
func copyFile(w io.Writer, src string, f *unpack.BundleFile, buf []byte) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(in, f.Size+1), buf)
	if err != nil {
		return err
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s changed while the bundle was written", src)
	}
	return nil
}
