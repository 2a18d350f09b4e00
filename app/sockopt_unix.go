//go:build unix

package main

import "syscall"

// reuseAddr marks the load tools' client sockets SO_REUSEADDR. Tens of thousands of them linger
// in TIME_WAIT after a run, and without the flag each one keeps a server on the same machine from
// listening on its port (all addresses) for a minute, as a test that picks a free port may.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}); err != nil {
		return err
	}
	return serr
}
