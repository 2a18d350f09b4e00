//go:build unix

package web

import "syscall"

// writeNoWait writes what the socket takes at once, without waiting for room.
func writeNoWait(raw syscall.RawConn, b []byte) (int, error) {
	n, werr := 0, error(nil)
	if err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // done, whatever the socket took: never wait here
	}); err != nil {
		return 0, err
	}
	return n, werr
}
