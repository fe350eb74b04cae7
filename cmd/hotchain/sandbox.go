package main

import (
	"net"
	"os"
)

// rpm 4.19 and later can run scriptlets in private namespaces (the unshare plugin), and
// RHEL 10's and Debian 13's rpm do by default: no network (%__transaction_unshare_nonet)
// and private /tmp and /home (%__transaction_unshare_paths). A hotfix's Install scripts need
// both, so a %post that finds itself there leaves the hotfix unpacked for the agent or the
// admin to apply outside rpm, rather than start scripts that would fail half-way.

// scriptletSandbox says why this process cannot run Install scripts as the product needs
// them, or "" when it can.
func scriptletSandbox() string {
	if !networkUp() {
		return "it runs without network (rpm's scriptlet sandbox)"
	}
	if privateMounts() {
		return "it runs with a private /tmp (rpm's scriptlet sandbox)"
	}
	return ""
}

// networkUp: some interface is up. A fresh network namespace has only lo, and lo down; a
// host has lo up. It asks the kernel over netlink, so it works in a chroot without /proc.
func networkUp() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return true // cannot tell: do what rpm asked
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 {
			return true
		}
	}
	return false
}

// privateMounts: this process has another mount namespace than init, as rpm's unshare of
// /tmp gives it. Without /proc (a chroot) it cannot tell, and says no.
func privateMounts() bool {
	self, err1 := os.Readlink("/proc/self/ns/mnt")
	init, err2 := os.Readlink("/proc/1/ns/mnt")
	return err1 == nil && err2 == nil && self != init
}
