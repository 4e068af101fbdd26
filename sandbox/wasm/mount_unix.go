//go:build unix

package wasm

import (
	"io/fs"
	"os"
	"syscall"
)

// mountsSupported: os.Root, O_NONBLOCK and link counts are available.
const mountsSupported = true

// openFlags open a mounted file read-only without blocking on a FIFO.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK

// linkCount returns the number of hard links of the file fi describes, or
// 0 when it is unknown.
func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}
