// Package hint attaches the next step to an error: what to do about it, which the command
// line prints on a "hint:" line below the error (cmd/hotchain's exit mapping finds it with
// errors.As on interface{ Hint() string }, so any error type with a Hint method works too).
// It is a leaf that every package may use; it decides nothing about exit statuses.
package hint

import "errors"

// Error is an error with the next step for the user.
type Error struct {
	Err  error
	Text string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Hint is the next step.
func (e *Error) Hint() string { return e.Text }

// With is err with the next step text; nil when err is nil.
func With(err error, text string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Text: text}
}

// Of is the next step an error carries (With, or any error with a Hint method in its
// chain), or "".
func Of(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}
