package hotfix

// The most hotchain reads of each file a host reads that someone else could have written or
// damaged; more is refused with an error that names the file and the limit
// (boundedio.TooLargeError), so a huge file costs at most its limit in memory.
const (
	// MaxVersionFileSize bounds a hotfix's version.txt: one line, "6.14.2.3".
	MaxVersionFileSize = 4 << 10
	// MaxFilelistSize bounds filelist.txt: one line of 64 hex digits, two blanks and a path
	// for each file, about 300 bytes for the 200,000 entries a tarball may hold at most.
	MaxFilelistSize = 64 << 20
	// MaxLedgerSize bounds each ledger file (<host>.txt, version.txt, finalized.txt): one
	// version per line, some ten bytes, for each hotfix ever applied.
	MaxLedgerSize = 1 << 20
	// MaxEntries is the most entries a hotfix holds: files, directories and symlinks of a
	// tarball (unpack.MaxTarballEntries), and lines of FileRemovals.
	MaxEntries = 200_000
)
