//go:build unix

package wasm

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// inode identifies a file on the host.
type inode struct{ dev, ino uint64 }

func inodeOf(t testing.TB, fi fs.FileInfo) inode {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no stat for %s", fi.Name())
	}
	return inode{uint64(st.Dev), st.Ino}
}

// FuzzMountOpen drives a mount's file system with arbitrary paths, the way
// wazero's WASI functions do after their own checks and also without them.
// The property: whatever the path, nothing outside the mount is ever
// opened or statted (every success is an inode found by walking the mount
// without following links, and never the secret the traps point at), every
// write is refused with EROFS, and every refusal is recorded with a file
// code.
func FuzzMountOpen(f *testing.F) {
	for _, s := range []string{
		"a.txt", ".", "", "/", "sub/b.txt", "link-in", "sub/link-up",
		"../outside/secret.txt", "sub/../../outside/secret.txt", "/etc/passwd",
		"link-abs", "link-rel", "link-dir/secret.txt", "sub/link-far", "link-self",
		"link-loop", "hard", "fifo", "a.txt/", "sub//b.txt", "./sub/./b.txt",
	} {
		f.Add(s)
	}
	tr := newTree(f, f.TempDir())
	root, err := os.OpenRoot(tr.data)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { root.Close() })
	secret, err := os.Stat(tr.secret)
	if err != nil {
		f.Fatal(err)
	}
	secretIno := inodeOf(f, secret)
	inside := map[inode]bool{}  // directories and regular files: what open may reach
	entries := map[inode]bool{} // every entry: what lstat may describe
	err = filepath.WalkDir(tr.data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		ino := inodeOf(f, fi)
		if ino == secretIno {
			return nil // the hard link: refused, never reached
		}
		entries[ino] = true
		if fi.IsDir() || fi.Mode().IsRegular() {
			inside[ino] = true
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, name string) {
		st := &callState{}
		m := &mountFS{st: st, m: mount{guest: "/data", root: root}}
		m.files = sysfs.AdaptFS{FS: rootFS{m}}
		check := func(op string, reached map[inode]bool, got inode) {
			if got == secretIno || !reached[got] {
				t.Fatalf("%s(%q) reached inode %v, which is not in the mount", op, name, got)
			}
		}
		for _, flag := range []experimentalsys.Oflag{experimentalsys.O_RDONLY, experimentalsys.O_RDONLY | experimentalsys.O_DIRECTORY} {
			if file, errno := m.OpenFile(name, flag, 0); errno == 0 {
				s, errno := file.Stat()
				if errno != 0 {
					t.Fatalf("Stat of opened %q: %v", name, errno)
				}
				check("OpenFile", inside, inode{s.Dev, s.Ino})
				file.Close()
			}
		}
		if s, errno := m.Stat(name); errno == 0 {
			check("Stat", inside, inode{s.Dev, s.Ino})
		}
		if s, errno := m.Lstat(name); errno == 0 {
			check("Lstat", entries, inode{s.Dev, s.Ino})
		}
		for _, flag := range []experimentalsys.Oflag{experimentalsys.O_WRONLY, experimentalsys.O_RDWR, experimentalsys.O_RDONLY | experimentalsys.O_CREAT, experimentalsys.O_RDONLY | experimentalsys.O_TRUNC} {
			if _, errno := m.OpenFile(name, flag, 0o644); errno != experimentalsys.EROFS {
				t.Fatalf("OpenFile(%q, %v) errno = %v, want EROFS", name, flag, errno)
			}
		}
		if errno := m.Unlink(name); errno != experimentalsys.EROFS {
			t.Fatalf("Unlink(%q) errno = %v, want EROFS", name, errno)
		}
		for _, e := range st.result() {
			switch e.Reason {
			case CodeFSEscape, CodeFSHardLink, CodeFSSpecial, CodeFSReadOnly, CodeFSRefusalsDropped:
			default:
				t.Fatalf("recorded %+v, want a file refusal code", e)
			}
			if e.Host != FileHost || e.Allowed {
				t.Fatalf("recorded %+v, want a refused file entry", e)
			}
		}
	})
}
