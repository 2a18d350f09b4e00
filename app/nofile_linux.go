package main

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard limit and returns it: every
// open stream holds a connection. Go's runtime does the same at start-up; doing it here makes
// the number known, and keeps it raised for any child process.
func raiseFileLimit() (uint64, error) {
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
	return lim.Cur, nil
}
