// Package rpmfile reads and checks one RPM file the way rpm does before it trusts it: the
// lead and both headers checked as rpm's hdrblobRead and hdrblobVerifyInfo check them
// before the header parser sees a byte, the size the signature header records, the header
// and payload digests (rpm -K), control characters that XML cannot carry, and, on request,
// the header's OpenPGP signature. What it returns is the package's metadata as
// createrepo_c's cr_package_from_header makes it (Package), which package repo writes as
// primary, filelists and other.
//
// It is its own package because it is the one reader of untrusted RPM files: it holds no
// repository state, and its bounds (memory in proportion to the input) can be reviewed and
// fuzzed alone.
package rpmfile
