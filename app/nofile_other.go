//go:build !linux

package main

import "errors"

// raiseFileLimit is Linux-only; elsewhere STREAMS_MAX must be set to cap the open streams.
func raiseFileLimit() (uint64, error) {
	return 0, errors.New("the open file limit is only read on Linux")
}
