package plugin

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/toolwarden/toolwarden/sandbox"
)

// mfdExec is MFD_EXEC (Linux 6.3): the memfd may be executed even where
// vm.memfd_noexec asks for non-executable memfds by default.
const mfdExec = 0x10

// memfdSeals forbid any change to the memfd's bytes or size, and any
// further change to its seals.
const memfdSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// binary is a plugin binary verified against its pin and held in a sealed
// memfd: every process of the program execs these bytes, whatever happens
// to the file afterwards.
type verifiedBinary struct {
	tool string
	path string
	want [sha256.Size]byte
	max  int64
	exe  *os.File // read-only descriptor of the sealed memfd

	mu    sync.Mutex // guards following
	stamp fileStamp  // the file's identity when its bytes last matched
}

// fileStamp identifies a version of a file: any write, rename over it or
// metadata change alters the change time or inode.
type fileStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

func stampOf(st *unix.Stat_t) fileStamp {
	return fileStamp{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// loadBinary copies the file at path into a sealed memfd, hashing exactly
// the bytes it writes there, and checks the digest against want.
func loadBinary(tool, path string, want [sha256.Size]byte, max int64) (*verifiedBinary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, loadError(tool, "cannot read the plugin binary", err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, loadError(tool, "cannot read the plugin binary", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, loadError(tool, "the plugin binary is not a regular file", fmt.Errorf("%s has mode %o", path, st.Mode))
	}
	if st.Size > max {
		return nil, loadError(tool, "the plugin binary is too large", fmt.Errorf("%s is %d bytes, more than %d", path, st.Size, max))
	}
	fd, err := unix.MemfdCreate("toolwarden-plugin", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|mfdExec)
	if errors.Is(err, unix.EINVAL) { // a kernel before 6.3
		fd, err = unix.MemfdCreate("toolwarden-plugin", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, loadError(tool, "cannot hold the plugin binary", fmt.Errorf("memfd_create: %w", err))
	}
	rw := os.NewFile(uintptr(fd), "toolwarden-plugin")
	defer rw.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(rw, h), io.LimitReader(f, max+1))
	if err != nil {
		return nil, loadError(tool, "cannot read the plugin binary", err)
	}
	if n > max {
		return nil, loadError(tool, "the plugin binary is too large", fmt.Errorf("%s is larger than %d bytes", path, max))
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		return nil, digestError(tool, fmt.Errorf("%s has sha256 %x, pinned %x", path, got, want))
	}
	if _, err := unix.FcntlInt(rw.Fd(), unix.F_ADD_SEALS, memfdSeals); err != nil {
		return nil, loadError(tool, "cannot seal the plugin binary", fmt.Errorf("F_ADD_SEALS: %w", err))
	}
	// exec refuses a file that is open for writing (ETXTBSY): keep only a
	// read-only descriptor of the sealed memfd.
	exe, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(rw.Fd())), os.O_RDONLY, 0)
	if err != nil {
		return nil, loadError(tool, "cannot hold the plugin binary", err)
	}
	return &verifiedBinary{tool: tool, path: path, want: want, max: max, exe: exe, stamp: stampOf(&st)}, nil
}

// check is called before each process start. If the file changed since
// its bytes last matched the pin, it is hashed again, and a mismatch
// refuses the start with [sandbox.CodeDigestMismatch]. The process runs
// the sealed copy either way, so the check reports tampering; it is not
// what keeps other bytes from running.
func (b *verifiedBinary) check() error {
	var st unix.Stat_t
	if err := unix.Stat(b.path, &st); err != nil {
		return digestError(b.tool, fmt.Errorf("stat %s: %w", b.path, err))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if stampOf(&st) == b.stamp {
		return nil
	}
	f, err := os.Open(b.path)
	if err != nil {
		return digestError(b.tool, err)
	}
	defer f.Close()
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return digestError(b.tool, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, b.max+1)); err != nil {
		return digestError(b.tool, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, b.want[:]) {
		return digestError(b.tool, fmt.Errorf("%s changed on disk: sha256 %x, pinned %x", b.path, got, b.want))
	}
	b.stamp = stampOf(&st)
	return nil
}

func (b *verifiedBinary) close() error { return b.exe.Close() }

// argv0 is the plugin's argv[0]: the binary's base name.
func (b *verifiedBinary) argv0() string { return filepath.Base(b.path) }

func loadError(tool, public string, err error) error {
	return &sandbox.Error{Code: sandbox.CodeLoad, Public: fmt.Sprintf("tool %q: %s", tool, public), Err: err}
}

func digestError(tool string, err error) error {
	return &sandbox.Error{
		Code:   sandbox.CodeDigestMismatch,
		Public: fmt.Sprintf("tool %q: the plugin binary does not match its sha256 pin", tool),
		Err:    err,
	}
}
