//go:build unix

package main

import "syscall"

// raiseOpenFiles lifts the soft limit on open files to the hard one: a load generator holds a
// connection (a file) per request in flight or viewer, far past the usual soft limit of 1024.
// It returns the soft limit in force afterwards.
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
