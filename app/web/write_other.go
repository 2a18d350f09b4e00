//go:build !unix

package web

import (
	"errors"
	"syscall"
)

// writeNoWait is unix-only; elsewhere every write goes through the drain goroutine.
func writeNoWait(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("no write without waiting on this system")
}
