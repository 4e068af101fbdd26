package sdk

import (
	"os"
	"strings"
)

// Mounts returns the sandbox paths of the directories the call's grant
// mounts (read-only), in the grant's order; none outside GOOS=wasip1.
func Mounts() []string { return mountNames() }

// Open opens name, a file or directory in one of the mounted directories,
// read-only. An absolute name is looked up in the longest mount it lies
// under ("/data/a.txt" is "a.txt" in the mount at /data); a relative name
// is relative to the first mount.
//
// Open neither cleans nor resolves name: the broker does, on the host, and
// refuses any path that leaves its mount (by "..", by being absolute
// outside every mount, or through a symbolic link), any regular file with
// more than one hard link and anything that is not a regular file or a
// directory, with a permission error here and an entry in the call's
// audit record. Writes are refused too.
//
// # Notes
//
// The returned file's Name is the sandbox path it was opened as. Use
// [os.File.ReadDir] on it to list a directory, and Open with the joined
// path to open an entry.
func Open(name string) (*os.File, error) { return open(name) }

// route picks the mount a path is sent to, without cleaning or resolving
// it (the broker does, and records what it refuses): an absolute name goes
// to the longest mount it lies under, with the rest relative to that
// mount; a relative name goes to the first mount as given; an absolute
// name under no mount goes to the first mount unchanged, where the broker
// refuses it. It returns the mount's index and the path to look up, or -1
// when nothing is mounted.
func route(mounts []string, name string) (int, string) {
	if len(mounts) == 0 {
		return -1, ""
	}
	if !strings.HasPrefix(name, "/") {
		if name == "" {
			name = "."
		}
		return 0, name
	}
	best, bestLen := -1, -1
	for i, m := range mounts {
		m = strings.TrimSuffix(m, "/")
		if (name == m || strings.HasPrefix(name, m+"/")) && len(m) > bestLen {
			best, bestLen = i, len(m)
		}
	}
	if best < 0 {
		return 0, name
	}
	rest := strings.TrimLeft(name[bestLen:], "/")
	if rest == "" {
		rest = "."
	}
	return best, rest
}
