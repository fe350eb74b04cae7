//go:build !linux

package repo

func exchange(newDir, cur string) error { return exchangeByRenames(newDir, cur) }
