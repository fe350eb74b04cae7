package rpmmd

import (
	"encoding/xml"
	"fmt"

	"github.com/hotchain/hotchain/repo/compress"
	"github.com/hotchain/hotchain/repo/rpmfile"
)

// The parse side of the rpm-md format, into package entries field by field: the tests read
// our output and createrepo_c's with it. (Package repo's update does not parse the old
// metadata: it reuses the elements of unchanged packages as they are.)

type xmlEntry struct {
	Name  string `xml:"name,attr"`
	Flags string `xml:"flags,attr"`
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
	Pre   string `xml:"pre,attr"`
}

type xmlDeps struct {
	Entries []xmlEntry `xml:"http://linux.duke.edu/metadata/rpm entry"`
}

type xmlFile struct {
	Type string `xml:"type,attr"`
	Path string `xml:",chardata"`
}

type xmlVersion struct {
	Epoch string `xml:"epoch,attr"`
	Ver   string `xml:"ver,attr"`
	Rel   string `xml:"rel,attr"`
}

type xmlPrimaryPkg struct {
	Type     string     `xml:"type,attr"`
	Name     string     `xml:"name"`
	Arch     string     `xml:"arch"`
	Version  xmlVersion `xml:"version"`
	Checksum struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
	Summary     string `xml:"summary"`
	Description string `xml:"description"`
	Packager    string `xml:"packager"`
	URL         string `xml:"url"`
	Time        struct {
		File  int64 `xml:"file,attr"`
		Build int64 `xml:"build,attr"`
	} `xml:"time"`
	Size struct {
		Package   int64 `xml:"package,attr"`
		Installed int64 `xml:"installed,attr"`
		Archive   int64 `xml:"archive,attr"`
	} `xml:"size"`
	Location struct {
		Href string `xml:"href,attr"`
	} `xml:"location"`
	Format struct {
		License     string `xml:"http://linux.duke.edu/metadata/rpm license"`
		Vendor      string `xml:"http://linux.duke.edu/metadata/rpm vendor"`
		Group       string `xml:"http://linux.duke.edu/metadata/rpm group"`
		BuildHost   string `xml:"http://linux.duke.edu/metadata/rpm buildhost"`
		SourceRPM   string `xml:"http://linux.duke.edu/metadata/rpm sourcerpm"`
		HeaderRange struct {
			Start int64 `xml:"start,attr"`
			End   int64 `xml:"end,attr"`
		} `xml:"http://linux.duke.edu/metadata/rpm header-range"`
		Provides    xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm provides"`
		Requires    xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm requires"`
		Conflicts   xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm conflicts"`
		Obsoletes   xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm obsoletes"`
		Suggests    xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm suggests"`
		Enhances    xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm enhances"`
		Recommends  xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm recommends"`
		Supplements xmlDeps   `xml:"http://linux.duke.edu/metadata/rpm supplements"`
		Files       []xmlFile `xml:"file"`
	} `xml:"format"`
}

type xmlPrimary struct {
	XMLName  xml.Name        `xml:"http://linux.duke.edu/metadata/common metadata"`
	Count    int             `xml:"packages,attr"`
	Packages []xmlPrimaryPkg `xml:"package"`
}

type xmlFilelistsPkg struct {
	PkgID   string     `xml:"pkgid,attr"`
	Name    string     `xml:"name,attr"`
	Arch    string     `xml:"arch,attr"`
	Version xmlVersion `xml:"version"`
	Files   []xmlFile  `xml:"file"`
}

type xmlFilelists struct {
	XMLName  xml.Name          `xml:"http://linux.duke.edu/metadata/filelists filelists"`
	Count    int               `xml:"packages,attr"`
	Packages []xmlFilelistsPkg `xml:"package"`
}

type xmlChangelog struct {
	Author string `xml:"author,attr"`
	Date   int64  `xml:"date,attr"`
	Text   string `xml:",chardata"`
}

type xmlOtherPkg struct {
	PkgID      string         `xml:"pkgid,attr"`
	Name       string         `xml:"name,attr"`
	Arch       string         `xml:"arch,attr"`
	Version    xmlVersion     `xml:"version"`
	Changelogs []xmlChangelog `xml:"changelog"`
}

type xmlOther struct {
	XMLName  xml.Name      `xml:"http://linux.duke.edu/metadata/other otherdata"`
	Count    int           `xml:"packages,attr"`
	Packages []xmlOtherPkg `xml:"package"`
}

func (d xmlDeps) deps() []rpmfile.Dependency {
	var out []rpmfile.Dependency
	for _, e := range d.Entries {
		out = append(out, rpmfile.Dependency{Name: e.Name, Flags: e.Flags, Epoch: e.Epoch, Version: e.Ver, Release: e.Rel, Pre: e.Pre == "1"})
	}
	return out
}

func files(xs []xmlFile) []rpmfile.File {
	var out []rpmfile.File
	for _, f := range xs {
		out = append(out, rpmfile.File{Path: f.Path, Type: f.Type})
	}
	return out
}

func decodeXML(data []byte, v any) error {
	plain, err := compress.Bytes(data, compress.MaxSize)
	if err != nil {
		return err
	}
	return xml.Unmarshal(plain, v)
}

// Parse joins primary, filelists and other (each compressed or plain) into
// package entries. Filelists and other are matched to primary by pkgid, name and arch.
func Parse(primary, filelists, other []byte) ([]*rpmfile.Package, error) {
	var pr xmlPrimary
	if err := decodeXML(primary, &pr); err != nil {
		return nil, fmt.Errorf("primary: %w", err)
	}
	var fl xmlFilelists
	if err := decodeXML(filelists, &fl); err != nil {
		return nil, fmt.Errorf("filelists: %w", err)
	}
	var ot xmlOther
	if err := decodeXML(other, &ot); err != nil {
		return nil, fmt.Errorf("other: %w", err)
	}
	key := func(id, name, arch string) string { return id + "\x00" + name + "\x00" + arch }
	fileMap := make(map[string][]rpmfile.File, len(fl.Packages))
	for _, p := range fl.Packages {
		fileMap[key(p.PkgID, p.Name, p.Arch)] = files(p.Files)
	}
	logMap := make(map[string][]rpmfile.Changelog, len(ot.Packages))
	for _, p := range ot.Packages {
		var cs []rpmfile.Changelog
		for _, c := range p.Changelogs {
			cs = append(cs, rpmfile.Changelog(c))
		}
		logMap[key(p.PkgID, p.Name, p.Arch)] = cs
	}
	out := make([]*rpmfile.Package, 0, len(pr.Packages))
	for _, x := range pr.Packages {
		if x.Checksum.Type != "sha256" {
			return nil, fmt.Errorf("primary: package %s has a %s checksum, not sha256", x.Location.Href, x.Checksum.Type)
		}
		k := key(x.Checksum.Value, x.Name, x.Arch)
		fs, ok := fileMap[k]
		if !ok {
			return nil, fmt.Errorf("filelists: no entry for package %s", x.Location.Href)
		}
		if _, ok := logMap[k]; !ok {
			return nil, fmt.Errorf("other: no entry for package %s", x.Location.Href)
		}
		f := x.Format
		p := &rpmfile.Package{
			Name: x.Name, Arch: x.Arch,
			Epoch: x.Version.Epoch, Version: x.Version.Ver, Release: x.Version.Rel,
			Checksum: x.Checksum.Value,
			Summary:  x.Summary, Description: x.Description, Packager: x.Packager, URL: x.URL,
			FileTime: x.Time.File, BuildTime: x.Time.Build,
			PackageSize: x.Size.Package, InstalledSize: x.Size.Installed, ArchiveSize: x.Size.Archive,
			Location: x.Location.Href,
			License:  f.License, Vendor: f.Vendor, Group: f.Group, BuildHost: f.BuildHost, SourceRPM: f.SourceRPM,
			HeaderStart: f.HeaderRange.Start, HeaderEnd: f.HeaderRange.End,
			Files:      fs,
			Changelogs: logMap[k],
		}
		p.Deps[rpmfile.Provides] = f.Provides.deps()
		p.Deps[rpmfile.Requires] = f.Requires.deps()
		p.Deps[rpmfile.Conflicts] = f.Conflicts.deps()
		p.Deps[rpmfile.Obsoletes] = f.Obsoletes.deps()
		p.Deps[rpmfile.Suggests] = f.Suggests.deps()
		p.Deps[rpmfile.Enhances] = f.Enhances.deps()
		p.Deps[rpmfile.Recommends] = f.Recommends.deps()
		p.Deps[rpmfile.Supplements] = f.Supplements.deps()
		out = append(out, p)
	}
	return out, nil
}
