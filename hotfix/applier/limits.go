package applier

// The most the applier reads of the files it reads that someone else could have written or
// damaged, as hotfix's limits (hotfix.MaxLedgerSize, ...) bound the files of the model.
const (
	// MaxJournalSize bounds an apply journal (Backup-<host>.journal, JSON): some hundreds
	// of bytes for each entry of the hotfix, of which a tarball may hold 200,000.
	MaxJournalSize = 64 << 20
	// MaxProductVersionFileSize bounds PRODUCT_VERSION_FILE, of which the first line counts.
	MaxProductVersionFileSize = 64 << 10
)
