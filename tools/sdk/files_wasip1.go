//go:build wasip1

package sdk

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sync"
	"syscall"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 fd_prestat_get
func fdPrestatGet(fd int32, prestat unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_prestat_dir_name
func fdPrestatDirName(fd int32, buf unsafe.Pointer, n uint32) uint32

// preopen is a directory the runtime pre-opened for the tool.
type preopen struct {
	fd   int
	name string
}

// maxPreopens bounds the descriptors scanned for pre-opened directories.
const maxPreopens = 256

// preopened caches preopens. Zero values, so a tool that never opens a
// mounted file links none of this.
var (
	preopenOnce sync.Once
	preopenList []preopen
)

// preopens lists the pre-opened directories, from fd 3 up to the first
// descriptor that is not one.
func preopens() []preopen {
	preopenOnce.Do(func() { preopenList = scanPreopens() })
	return preopenList
}

func scanPreopens() []preopen {
	var out []preopen
	for fd := int32(3); fd < 3+maxPreopens; fd++ {
		var st [8]byte // tag (0: directory), padding, name length (u32)
		if fdPrestatGet(fd, unsafe.Pointer(&st[0])) != 0 || st[0] != 0 {
			break
		}
		n := uint32(st[4]) | uint32(st[5])<<8 | uint32(st[6])<<16 | uint32(st[7])<<24
		if n == 0 || n > 4096 {
			break
		}
		buf := make([]byte, n)
		if fdPrestatDirName(fd, unsafe.Pointer(&buf[0]), n) != 0 {
			break
		}
		name := string(buf)
		for len(name) > 1 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		out = append(out, preopen{fd: int(fd), name: name})
	}
	return out
}

func mountNames() []string {
	ps := preopens()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// open opens name in its mount without resolving it here.
func open(name string) (*os.File, error) {
	ps := preopens()
	i, rest := route(mountNames(), name)
	if i < 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("no directories are mounted")}
	}
	fd, err := syscall.Openat(ps[i].fd, rest, syscall.O_RDONLY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), path.Join(ps[i].name, rest)), nil
}
