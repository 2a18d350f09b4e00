//go:build !unix

package main

import "syscall"

// reuseAddr does nothing where sockets are not unix ones.
func reuseAddr(_, _ string, _ syscall.RawConn) error { return nil }
