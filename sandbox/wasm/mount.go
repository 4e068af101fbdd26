package wasm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"

	"github.com/toolwarden/toolwarden/sandbox"
)

// mount is one host directory opened for a call.
type mount struct {
	guest string   // absolute, clean guest path
	root  *os.Root // the host directory
}

// openMounts checks ms and opens each host directory as an [os.Root]. The
// caller closes them with closeMounts after the call.
func openMounts(ms []sandbox.Mount) ([]mount, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	if !mountsSupported {
		return nil, errors.New("Invocation.Mounts needs a Unix host")
	}
	out := make([]mount, 0, len(ms))
	seen := map[string]bool{}
	for _, m := range ms {
		g := m.Guest
		switch {
		case !filepath.IsAbs(m.Host) || strings.ContainsRune(m.Host, 0):
			closeMounts(out)
			return nil, fmt.Errorf("Invocation.Mounts: host path %q is not absolute", m.Host)
		case !strings.HasPrefix(g, "/") || path.Clean(g) != g || strings.ContainsRune(g, 0):
			closeMounts(out)
			return nil, fmt.Errorf("Invocation.Mounts: guest path %q is not an absolute, clean path", g)
		case seen[g]:
			closeMounts(out)
			return nil, fmt.Errorf("Invocation.Mounts: guest path %q is mounted twice", g)
		}
		seen[g] = true
		root, err := os.OpenRoot(m.Host)
		if err != nil {
			closeMounts(out)
			return nil, fmt.Errorf("Invocation.Mounts: %w", err)
		}
		out = append(out, mount{guest: g, root: root})
	}
	return out, nil
}

func closeMounts(ms []mount) {
	for _, m := range ms {
		_ = m.root.Close()
	}
}

// fsConfig mounts ms into the guest, in order: the first is the
// pre-opened directory fd 3, the next fd 4, and so on.
func fsConfig(st *callState, ms []mount) wazero.FSConfig {
	cfg := wazero.NewFSConfig()
	for _, m := range ms {
		mfs := &mountFS{st: st, m: m}
		mfs.files = sysfs.AdaptFS{FS: rootFS{mfs}}
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(mfs, m.guest)
	}
	return cfg
}

// mountFS serves one mount to wazero's WASI implementation, read-only.
//
// wazero refuses a path that is absolute or leaves its directory by ".."
// before it asks a file system (the path listener records those); every
// path that reaches mountFS is resolved by [os.Root], which refuses a
// symbolic link that leads outside the mount (absolute, relative, or
// created while the call runs) at the moment of the lookup. On top of
// that, mountFS refuses regular files with more than one hard link,
// anything that is neither a regular file nor a directory, and every
// write. Each refusal is recorded in the call's state.
type mountFS struct {
	st    *callState
	m     mount
	files sysfs.AdaptFS // wazero's fs.FS adapter over rootFS: files and Stat
}

var _ experimentalsys.FS = (*mountFS)(nil)

// refuse records a refused access to name (relative to the mount).
func (m *mountFS) refuse(name, code string) {
	m.st.refuseFile(path.Join(m.m.guest, name), code)
}

// readOnly records a write attempt and returns EROFS.
func (m *mountFS) readOnly(name string) experimentalsys.Errno {
	m.refuse(cleanName(name), CodeFSReadOnly)
	return experimentalsys.EROFS
}

// writeFlags are the open flags that could change the file system.
const writeFlags = experimentalsys.O_RDWR | experimentalsys.O_WRONLY | experimentalsys.O_CREAT |
	experimentalsys.O_TRUNC | experimentalsys.O_APPEND | experimentalsys.O_EXCL

// OpenFile implements experimentalsys.FS.
func (m *mountFS) OpenFile(name string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if flag&writeFlags != 0 {
		return nil, m.readOnly(name)
	}
	return m.files.OpenFile(name, flag, perm)
}

// Lstat implements experimentalsys.FS: the link itself, never its target,
// with the same refusals as opening it.
func (m *mountFS) Lstat(name string) (sys.Stat_t, experimentalsys.Errno) {
	name = cleanName(name)
	if !fs.ValidPath(name) {
		m.refuse(name, CodeFSEscape)
		return sys.Stat_t{}, experimentalsys.EPERM
	}
	fi, err := m.m.root.Lstat(name)
	if err != nil {
		if escapes(err) {
			m.refuse(name, CodeFSEscape)
			return sys.Stat_t{}, experimentalsys.EPERM
		}
		return sys.Stat_t{}, experimentalsys.UnwrapOSError(err)
	}
	if fi.Mode().IsRegular() && linkCount(fi) != 1 {
		m.refuse(name, CodeFSHardLink)
		return sys.Stat_t{}, experimentalsys.EPERM
	}
	return sys.NewStat_t(fi), 0
}

// Stat implements experimentalsys.FS by opening name, so it is refused
// exactly when opening it is.
func (m *mountFS) Stat(name string) (sys.Stat_t, experimentalsys.Errno) {
	return m.files.Stat(name)
}

// Readlink implements experimentalsys.FS: link targets are not shown (a
// link's text names host paths).
func (m *mountFS) Readlink(string) (string, experimentalsys.Errno) {
	return "", experimentalsys.ENOSYS
}

// Mkdir implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Mkdir(name string, _ fs.FileMode) experimentalsys.Errno { return m.readOnly(name) }

// Chmod implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Chmod(name string, _ fs.FileMode) experimentalsys.Errno { return m.readOnly(name) }

// Rename implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Rename(from, _ string) experimentalsys.Errno { return m.readOnly(from) }

// Rmdir implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Rmdir(name string) experimentalsys.Errno { return m.readOnly(name) }

// Unlink implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Unlink(name string) experimentalsys.Errno { return m.readOnly(name) }

// Link implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Link(_, newName string) experimentalsys.Errno { return m.readOnly(newName) }

// Symlink implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Symlink(_, linkName string) experimentalsys.Errno { return m.readOnly(linkName) }

// Utimens implements experimentalsys.FS: refused, read-only.
func (m *mountFS) Utimens(name string, _, _ int64) experimentalsys.Errno { return m.readOnly(name) }

// cleanName turns the path wazero hands a file system into the name
// os.Root and fs.FS take: relative, clean, "." for the root.
func cleanName(name string) string {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return "."
	}
	return path.Clean(name)
}

// rootFS is the fs.FS wazero's adapter opens files through: every lookup
// goes through the mount's os.Root and the checks of mountFS.
type rootFS struct{ m *mountFS }

// Open implements fs.FS.
func (r rootFS) Open(name string) (fs.File, error) {
	name = cleanName(name)
	fail := func(code string) error {
		r.m.refuse(name, code)
		return &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	if !fs.ValidPath(name) {
		return nil, fail(CodeFSEscape)
	}
	// Non-blocking, so a FIFO planted in the mount cannot hang the call in
	// open(2); it is refused below like any special file.
	f, err := r.m.m.root.OpenFile(name, openFlags, 0)
	if err != nil {
		if escapes(err) {
			return nil, fail(CodeFSEscape)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
	case mode.IsRegular():
		if linkCount(fi) != 1 {
			_ = f.Close()
			return nil, fail(CodeFSHardLink)
		}
	default:
		_ = f.Close()
		return nil, fail(CodeFSSpecial)
	}
	return mountFile{f}, nil
}

// mountFile is an open file or directory of a mount. It offers reading,
// seeking, listing and stat only: no Write, so wazero refuses writes to
// it whatever rights the guest asked for.
type mountFile struct{ f *os.File }

func (m mountFile) Stat() (fs.FileInfo, error)                { return m.f.Stat() }
func (m mountFile) Read(p []byte) (int, error)                { return m.f.Read(p) }
func (m mountFile) ReadAt(p []byte, off int64) (int, error)   { return m.f.ReadAt(p, off) }
func (m mountFile) Seek(off int64, whence int) (int64, error) { return m.f.Seek(off, whence) }
func (m mountFile) ReadDir(n int) ([]fs.DirEntry, error)      { return m.f.ReadDir(n) }
func (m mountFile) Close() error                              { return m.f.Close() }

// escapeSentinel is the error os.Root wraps when a path leaves the root,
// learned from os.Root itself (os does not export it).
var escapeSentinel = sync.OnceValue(func() error {
	root, err := os.OpenRoot(os.TempDir())
	if err != nil {
		return nil
	}
	defer root.Close()
	_, err = root.Lstat("..")
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return pe.Err
	}
	return nil
})

// escapes reports whether err is os.Root refusing a path that leads
// outside the root (by "..", an absolute symbolic link, or a relative one
// that climbs out).
func escapes(err error) bool {
	if s := escapeSentinel(); s != nil && errors.Is(err, s) {
		return true
	}
	return strings.Contains(err.Error(), "path escapes from parent")
}
