package applier

// MaxProductVersionFileSize bounds PRODUCT_VERSION_FILE, of which the first line counts: the
// most the applier reads of it, as hotfix's limits (hotfix.MaxLedgerSize, ...) bound the files
// of the model and journal.MaxSize the apply journal.
const MaxProductVersionFileSize = 64 << 10
