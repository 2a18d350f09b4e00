//go:build unix

package main

import "syscall"

// raiseOpenFiles lifts the soft limit on open files to the hard one and returns it: the server
// holds a connection (a file) per open stream, and the load tools one per request in flight or
// viewer, far past the usual soft limit of 1024. Go's runtime raises it too at start-up; doing
// it here makes the number known.
func raiseOpenFiles() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return uint64(lim.Cur), nil
}
