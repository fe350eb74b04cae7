package rpmfile

// DepKind is a kind of relation: provides, requires, ...
type DepKind int

// The relations, indexes of Package.Deps.
const (
	Provides DepKind = iota
	Conflicts
	Obsoletes
	Requires
	Suggests
	Enhances
	Recommends
	Supplements
	NumDepKinds
)

var depNames = [NumDepKinds]string{
	Provides: "provides", Conflicts: "conflicts", Obsoletes: "obsoletes", Requires: "requires",
	Suggests: "suggests", Enhances: "enhances", Recommends: "recommends", Supplements: "supplements",
}

// String is the relation's primary.xml element name (without the rpm: prefix).
func (k DepKind) String() string { return depNames[k] }

// DepOrder lists the relations in the order createrepo_c writes them to primary.xml (and
// checks them for control characters).
var DepOrder = [NumDepKinds]DepKind{Provides, Requires, Conflicts, Obsoletes, Suggests, Enhances, Recommends, Supplements}

// Package is one package's entry in primary, filelists and other. It holds exactly what the
// XML holds, so that an entry read back from old metadata is written out unchanged.
type Package struct {
	Name, Arch                          string
	Epoch, Version, Release             string
	Checksum                            string // sha256 of the file; the pkgid
	Summary, Description, Packager, URL string
	FileTime, BuildTime                 int64
	PackageSize, InstalledSize          int64
	ArchiveSize                         int64
	Location                            string // relative to the repository, with slashes
	License, Vendor, Group, BuildHost   string
	SourceRPM                           string
	HeaderStart, HeaderEnd              int64
	Deps                                [NumDepKinds][]Dependency
	Files                               []File // all of them, in header order
	Changelogs                          []Changelog
}

// Dependency is one relation of a package, as primary.xml writes it.
type Dependency struct {
	Name, Flags, Epoch, Version, Release string
	Pre                                  bool
}

// File is one file of a package.
type File struct {
	Path string
	Type string // "", "dir" or "ghost"
}

// Changelog is one changelog entry of a package.
type Changelog struct {
	Author string
	Date   int64
	Text   string
}
