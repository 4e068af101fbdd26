//go:build linux

package query

import (
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f read-only. The mapping stays
// valid after f is closed; unmap releases it. A file cut shorter while
// mapped faults on access: read the mapping under debug.SetPanicOnFault.
func mapFile(f *os.File, size int64) (data []byte, unmap func(), err error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, errNoMap
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	return data, func() { _ = syscall.Munmap(data) }, nil
}
