package wasm

import (
	"context"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// pathArg locates a (directory fd, path pointer, path length) triple in
// the parameters of a WASI path function.
type pathArg struct{ fd, ptr, n int }

// pathFuncs lists the WASI functions that resolve a path against a
// directory descriptor, with where their paths are. path_symlink's first
// path is the link's text, not a lookup, and is not listed.
var pathFuncs = map[string][]pathArg{
	"path_open":               {{0, 2, 3}},
	"path_filestat_get":       {{0, 2, 3}},
	"path_filestat_set_times": {{0, 2, 3}},
	"path_readlink":           {{0, 1, 2}},
	"path_create_directory":   {{0, 1, 2}},
	"path_remove_directory":   {{0, 1, 2}},
	"path_unlink_file":        {{0, 1, 2}},
	"path_rename":             {{0, 1, 2}, {3, 4, 5}},
	"path_link":               {{0, 2, 3}, {4, 5, 6}},
	"path_symlink":            {{2, 3, 4}},
}

// pathListeners is the function listener factory of the WASI host module:
// it watches the path functions and records every path wazero refuses
// before any file system sees it: a path that is absolute or climbs out of
// its directory with "..", or one looked up against a negative descriptor
// (how a Go guest asks for a path under no pre-opened directory, e.g.
// os.ReadFile("/etc/passwd")). Paths that pass are resolved, checked and
// recorded by [mountFS]; lookups against a descriptor that is simply not
// open are refused by wazero and not recorded.
type pathListeners struct{}

var _ experimental.FunctionListenerFactory = pathListeners{}

// NewFunctionListener implements experimental.FunctionListenerFactory.
func (pathListeners) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() != wasi_snapshot_preview1.ModuleName {
		return nil
	}
	args, ok := pathFuncs[def.Name()]
	if !ok {
		return nil
	}
	return pathListener(args)
}

type pathListener []pathArg

// Before implements experimental.FunctionListener.
func (l pathListener) Before(ctx context.Context, mod api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	st := stateFrom(ctx)
	if st == nil || mod.Memory() == nil {
		return
	}
	for _, a := range l {
		if a.n >= len(params) {
			continue
		}
		raw, ok := mod.Memory().Read(api.DecodeU32(params[a.ptr]), api.DecodeU32(params[a.n]))
		if !ok {
			continue
		}
		fd, p := api.DecodeI32(params[a.fd]), string(raw)
		if fd < 0 || lexicalEscape(p) {
			st.refuseFile(st.guestPath(fd, p), CodeFSEscape)
		}
	}
}

// After implements experimental.FunctionListener.
func (pathListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

// Abort implements experimental.FunctionListener.
func (pathListener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

// lexicalEscape reports whether wazero refuses p before resolving it: the
// same test its WASI path functions apply (clean, then fs.ValidPath), true
// for an absolute path or one whose ".." climbs above its directory.
func lexicalEscape(p string) bool {
	return !fs.ValidPath(path.Clean(p))
}

// guestPath names a refused path for the record: as the guest wrote it
// when absolute; under "/" for a negative descriptor (a Go guest strips
// the leading slashes of a path under no mount); joined to the mount's
// guest path when fd is a pre-opened mount (unless the guest closed and
// reused that descriptor); else prefixed with the descriptor.
func (st *callState) guestPath(fd int32, p string) string {
	switch i := int(fd) - 3; {
	case strings.HasPrefix(p, "/"):
		return p
	case fd < 0:
		if p == "." {
			return "/"
		}
		return "/" + p
	case i >= 0 && i < len(st.mounts):
		return strings.TrimSuffix(st.mounts[i], "/") + "/" + p
	default:
		return "fd " + strconv.Itoa(int(fd)) + ": " + p
	}
}
