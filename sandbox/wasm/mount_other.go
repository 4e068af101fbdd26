//go:build !unix

package wasm

import (
	"io/fs"
	"os"
)

// mountsSupported: link counts are not available, so hard links could not
// be refused; Run refuses mounts instead.
const mountsSupported = false

const openFlags = os.O_RDONLY

func linkCount(fs.FileInfo) uint64 { return 0 }
