package lock

import "crypto/subtle"

// EnvVar carries a held lock's token to child processes. A run that holds LOCK_TS starts
// processes that must work under that same lock (dnf -> rpm scriptlet -> hotchain apply, or a
// product patch under `hotchain hold`); flock alone cannot tell them from an unrelated second
// run, the token can.
const EnvVar = "HOTCHAIN_LOCK_TOKEN"

// Acquire takes the lock at path like TryLock. When the lock is held by another process and the
// token in its file equals inheritedToken (non-empty), it returns a Lock marked inherited: the
// caller works under its parent's lock and its Unlock does nothing. Otherwise it returns the
// *HeldError.
//
// The token tells descendants from strangers; it is not a secret against local users, who can
// read it (the file is world-readable for status output) but cannot write the files a hotfix
// install touches.
func Acquire(path, inheritedToken string) (*Lock, error) {
	l := New(path)
	err := l.TryLock()
	if err == nil || !IsHeld(err) || inheritedToken == "" {
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	_, token, rerr := readContent(path)
	if rerr != nil || subtle.ConstantTimeCompare([]byte(token), []byte(inheritedToken)) != 1 {
		return nil, err
	}
	l.inherited, l.token = true, inheritedToken
	return l, nil
}
