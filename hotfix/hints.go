package hotfix

// hinted is an error with a hint that says what to do next (the command line prints it).
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }
func (h hinted) Hint() string  { return h.hint }

func withHint(err error, hint string) error { return hinted{err, hint} }
