//go:build unix

package wasm

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/toolwarden/toolwarden/sandbox"
)

// tree is a mount with traps: base/data is mounted at /data, base/outside
// holds the secret every trap points at.
type tree struct {
	base, data, outside, secret string
}

func newTree(t testing.TB, dir string) tree {
	t.Helper()
	tr := tree{base: dir, data: filepath.Join(dir, "data"), outside: filepath.Join(dir, "outside")}
	tr.secret = filepath.Join(tr.outside, "secret.txt")
	for _, d := range []string{tr.data, filepath.Join(tr.data, "sub"), tr.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(tr.data, "a.txt"):        "alpha\n",
		filepath.Join(tr.data, "sub", "b.txt"): "beta\nalphabet\n",
		tr.secret:                              "TOP SECRET\n",
		filepath.Join(tr.outside, "other.txt"): "other\n",
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"link-in":      "a.txt",                      // inside: allowed
		"sub/link-up":  "../a.txt",                   // inside, by ..: allowed
		"link-abs":     tr.secret,                    // absolute, out
		"link-rel":     "../outside/secret.txt",      // relative, out
		"link-dir":     "../outside",                 // a directory out
		"sub/link-far": "../../outside/secret.txt",   // relative from a subdirectory, out
		"link-self":    "/" + filepath.Base(tr.data), // absolute, even to a name that exists inside
		"link-loop":    "link-loop",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(tr.data, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(tr.secret, filepath.Join(tr.data, "hard")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tr.data, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr tree) mounts() []sandbox.Mount {
	return []sandbox.Mount{{Host: tr.data, Guest: "/data"}}
}

func checkFiles(t *testing.T, what string, got []sandbox.EgressAttempt, want map[string]string) {
	t.Helper()
	seen := map[string]string{}
	for _, e := range got {
		if e.Host != FileHost || e.Allowed || e.Port != 0 || e.Address != "" {
			t.Errorf("%s Egress entry %+v, want a refused file entry", what, e)
		}
		seen[e.Path] = e.Reason
	}
	for p, code := range want {
		if seen[p] != code {
			t.Errorf("%s Egress = %+v, want %s refused with %s", what, got, p, code)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%s Egress = %+v, want exactly %v", what, got, want)
	}
}

func TestMountReads(t *testing.T) {
	tr := newTree(t, t.TempDir())
	out, res := probe(t, sandbox.Invocation{Mounts: tr.mounts()},
		step("open", "path", "/data/a.txt"),
		step("open", "path", "/data/sub/b.txt"),
		step("open", "path", "a.txt"), // relative to the first mount
		step("open", "path", "/data/link-in"),
		step("open", "path", "/data/sub/link-up"),
		step("osread", "path", "/data/sub/../a.txt"), // Go cleans it inside the mount
		step("openat", "fd", "3", "path", "sub/../a.txt"),
		step("stat", "path", "/data/a.txt"),
		step("lstat", "path", "/data/link-abs"), // the link itself is inside
		step("open", "path", "/data/sub"),
	)
	want := []string{"ok: alpha\n", "ok: beta\nalphabet\n", "ok: alpha\n", "ok: alpha\n", "ok: alpha\n", "ok: alpha\n", "ok: alpha\n", "ok: 6", "ok: L---------", "ok: b.txt,link-far,link-up"}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("step %d = %q, want %q", i, out[i], want[i])
		}
	}
	checkFiles(t, "Run(hostprobe, reads)", res.Egress, nil)
}

// TestMountRefusals: every way out of the mount is refused, with EPERM (or
// EROFS for writes) in the guest and an entry naming the path and the
// reason in the record, and the secret is never read.
func TestMountRefusals(t *testing.T) {
	tr := newTree(t, t.TempDir())
	for _, tc := range []struct {
		name     string
		step     string
		wantErr  string // in the outcome
		wantPath string
		wantCode string
	}{
		{"dot-dot via sdk", step("open", "path", "/data/../outside/secret.txt"), "operation not permitted", "/data/../outside/secret.txt", CodeFSEscape},
		{"dot-dot raw", step("openat", "fd", "3", "path", "../outside/secret.txt"), "operation not permitted", "/data/../outside/secret.txt", CodeFSEscape},
		{"dot-dot deep", step("openat", "fd", "3", "path", "sub/../../../../../etc/passwd"), "operation not permitted", "/data/sub/../../../../../etc/passwd", CodeFSEscape},
		{"absolute raw", step("openat", "fd", "3", "path", tr.secret), "operation not permitted", tr.secret, CodeFSEscape},
		{"absolute outside the mounts", step("open", "path", "/etc/passwd"), "operation not permitted", "/etc/passwd", CodeFSEscape},
		{"absolute, Go's own path handling", step("osread", "path", "/etc/passwd"), "bad file number", "/etc/passwd", CodeFSEscape},
		{"dot-dot, Go's own path handling", step("osread", "path", "/data/../outside/secret.txt"), "bad file number", "/outside/secret.txt", CodeFSEscape},
		{"absolute symlink", step("open", "path", "/data/link-abs"), "operation not permitted", "/data/link-abs", CodeFSEscape},
		{"relative symlink", step("open", "path", "/data/link-rel"), "operation not permitted", "/data/link-rel", CodeFSEscape},
		{"relative symlink from a subdirectory", step("open", "path", "/data/sub/link-far"), "operation not permitted", "/data/sub/link-far", CodeFSEscape},
		{"through a symlinked directory", step("open", "path", "/data/link-dir/secret.txt"), "operation not permitted", "/data/link-dir/secret.txt", CodeFSEscape},
		{"absolute symlink to a name inside", step("open", "path", "/data/link-self"), "operation not permitted", "/data/link-self", CodeFSEscape},
		{"stat through a symlink", step("stat", "path", "/data/link-abs"), "operation not permitted", "/data/link-abs", CodeFSEscape},
		{"hard link", step("open", "path", "/data/hard"), "operation not permitted", "/data/hard", CodeFSHardLink},
		{"hard link lstat", step("lstat", "path", "/data/hard"), "operation not permitted", "/data/hard", CodeFSHardLink},
		{"fifo", step("open", "path", "/data/fifo"), "operation not permitted", "/data/fifo", CodeFSSpecial},
		{"write", step("write", "path", "/data/new.txt"), "read-only file system", "/data/new.txt", CodeFSReadOnly},
		{"overwrite", step("write", "path", "/data/a.txt"), "read-only file system", "/data/a.txt", CodeFSReadOnly},
		{"mkdir", step("mkdir", "path", "/data/d"), "read-only file system", "/data/d", CodeFSReadOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res := probe(t, sandbox.Invocation{Mounts: tr.mounts()}, tc.step)
			if !strings.HasPrefix(out[0], "error: ") || !strings.Contains(strings.ToLower(out[0]), tc.wantErr) {
				t.Errorf("%s = %q, want an error with %q", tc.step, out[0], tc.wantErr)
			}
			if strings.Contains(out[0], "SECRET") {
				t.Fatalf("%s read the secret: %q", tc.step, out[0])
			}
			checkFiles(t, "Run(hostprobe "+tc.step+")", res.Egress, map[string]string{tc.wantPath: tc.wantCode})
		})
	}
	for _, name := range []string{"a.txt", "new.txt", "d"} {
		if _, err := os.Lstat(filepath.Join(tr.data, name)); (err == nil) != (name == "a.txt") {
			t.Errorf("after the write attempts, %s exists = %v", name, err == nil)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(tr.data, "a.txt")); string(b) != "alpha\n" {
		t.Errorf("a.txt = %q after the write attempts, want it unchanged", b)
	}
}

func TestMountRemoveIsRefused(t *testing.T) {
	tr := newTree(t, t.TempDir())
	out, res := probe(t, sandbox.Invocation{Mounts: tr.mounts()}, step("remove", "path", "/data/a.txt"))
	if !strings.HasPrefix(out[0], "error: ") {
		t.Errorf("remove = %q, want an error", out[0])
	}
	checkFiles(t, "Run(hostprobe remove)", res.Egress, map[string]string{"/data/a.txt": CodeFSReadOnly})
	if _, err := os.Stat(filepath.Join(tr.data, "a.txt")); err != nil {
		t.Errorf("a.txt after remove: %v", err)
	}
}

// TestSymlinkCreatedDuringCall plants a link on the host while the tool
// runs (the tool asks the test server to, between two opens): the open
// after it is refused at the moment of the lookup.
func TestSymlinkCreatedDuringCall(t *testing.T) {
	tr := newTree(t, t.TempDir())
	for _, target := range []string{"../outside/secret.txt", "" /* absolute */} {
		late := filepath.Join(tr.data, "late")
		os.Remove(late)
		if target == "" {
			target = tr.secret
		}
		srv := newTestServer(t, map[string]http.HandlerFunc{"/plant": func(w http.ResponseWriter, r *http.Request) {
			if err := os.Symlink(target, late); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Write([]byte("planted"))
		}})
		out, res := probe(t, sandbox.Invocation{Mounts: tr.mounts(), Egress: []string{srv.grant}},
			step("open", "path", "/data/late"),
			step("fetch", "url", srv.base+"/plant"),
			step("open", "path", "/data/late"),
		)
		if !strings.Contains(out[0], "No such file") || out[1] != "ok: 200 planted" || !strings.Contains(out[2], "Operation not permitted") {
			t.Errorf("open, plant %s, open = %q; want not found, planted, refused", target, out)
		}
		if len(res.Egress) != 2 || res.Egress[0].Host != "127.0.0.1" || !res.Egress[0].Allowed {
			t.Fatalf("Egress = %+v, want the plant request then the refused open", res.Egress)
		}
		checkFiles(t, "Run(hostprobe, late link "+target+")", res.Egress[1:], map[string]string{"/data/late": CodeFSEscape})
	}
}

func TestMountsAreSeparate(t *testing.T) {
	a, b := newTree(t, t.TempDir()), newTree(t, t.TempDir())
	if err := os.WriteFile(filepath.Join(b.data, "only-b.txt"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv := sandbox.Invocation{Mounts: []sandbox.Mount{{Host: a.data, Guest: "/a"}, {Host: b.data, Guest: "/srv/b"}}}
	out, res := probe(t, inv,
		step("open", "path", "/srv/b/only-b.txt"),
		step("open", "path", "/a/only-b.txt"),
		step("open", "path", "/a/../srv/b/only-b.txt"),
		step("openat", "fd", "4", "path", "only-b.txt"),
	)
	if out[0] != "ok: b" || !strings.Contains(out[1], "No such file") || !strings.Contains(out[2], "not permitted") || out[3] != "ok: b" {
		t.Errorf("two mounts = %q", out)
	}
	checkFiles(t, "Run(hostprobe, two mounts)", res.Egress, map[string]string{"/a/../srv/b/only-b.txt": CodeFSEscape})
}

func TestFileRefusalsAreBounded(t *testing.T) {
	tr := newTree(t, t.TempDir())
	var steps []string
	for range maxFileRefusals + 10 {
		steps = append(steps, step("open", "path", "/data/link-abs"))
	}
	_, res := probe(t, sandbox.Invocation{Mounts: tr.mounts()}, steps...)
	if len(res.Egress) != maxFileRefusals+1 || res.Egress[maxFileRefusals].Reason != CodeFSRefusalsDropped {
		t.Errorf("Egress has %d entries (last %+v), want %d then one %s", len(res.Egress), res.Egress[len(res.Egress)-1], maxFileRefusals, CodeFSRefusalsDropped)
	}
}

// fsreadCall runs tools/fsread on the tree.
func fsreadCall(t *testing.T, tr tree, args string) (json.RawMessage, *sandbox.Result, error) {
	t.Helper()
	res, err := goProgram(t, "fsread").Run(t.Context(), sandbox.Invocation{Args: []byte(args), Limits: limits(), Mounts: tr.mounts()})
	if res == nil {
		t.Fatalf("Run(fsread, %s) Result = nil (%v)", args, err)
	}
	return res.Output, res, err
}

func TestFSRead(t *testing.T) {
	tr := newTree(t, t.TempDir())
	for _, tc := range []struct {
		name, args, want string
		wantFiles        map[string]string
	}{
		{"read", `{"path":"/data/a.txt"}`, `{"path":"/data/a.txt","size":6,"content":"alpha\n","encoding":"utf-8","truncated":false}`, nil},
		{"read relative", `{"path":"sub/b.txt","op":"read"}`, `{"path":"/data/sub/b.txt","size":14,"content":"beta\nalphabet\n","encoding":"utf-8","truncated":false}`, nil},
		{"list", `{"path":"/data/sub","op":"list"}`, `{"path":"/data/sub","entries":[{"name":"b.txt","type":"file","size":14},{"name":"link-far","type":"symlink"},{"name":"link-up","type":"symlink"}],"truncated":false}`, nil},
		// The search opens every entry the listing calls a file: the FIFO
		// (WASI shows it as a file) and the hard link are refused, recorded
		// and skipped.
		{"search", `{"path":"/data","op":"search","pattern":"^alpha"}`, `{"path":"/data","pattern":"^alpha","matches":[{"path":"/data/a.txt","line":1,"text":"alpha"},{"path":"/data/sub/b.txt","line":2,"text":"alphabet"}],"files_searched":2,"truncated":false}`,
			map[string]string{"/data/fifo": CodeFSSpecial, "/data/hard": CodeFSHardLink}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res, err := fsreadCall(t, tr, tc.args)
			if err != nil {
				t.Fatalf("Run(fsread, %s) error = %v", tc.args, err)
			}
			if string(out) != tc.want {
				t.Errorf("Run(fsread, %s) = %s, want %s", tc.args, out, tc.want)
			}
			checkFiles(t, "Run(fsread, "+tc.args+")", res.Egress, tc.wantFiles)
		})
	}
}

// TestFSReadListRecordsRefusedEntries: listing the mount root opens each
// file for its size; the hard link and the FIFO (WASI has no file type for
// it, so it lists as a file) are refused and recorded, their sizes left
// out.
func TestFSReadListRecordsRefusedEntries(t *testing.T) {
	tr := newTree(t, t.TempDir())
	out, res, err := fsreadCall(t, tr, `{"path":"/data","op":"list"}`)
	if err != nil {
		t.Fatalf("Run(fsread list /data) error = %v", err)
	}
	want := `{"path":"/data","entries":[{"name":"a.txt","type":"file","size":6},{"name":"fifo","type":"file"},{"name":"hard","type":"file"},{"name":"link-abs","type":"symlink"},{"name":"link-dir","type":"symlink"},{"name":"link-in","type":"symlink"},{"name":"link-loop","type":"symlink"},{"name":"link-rel","type":"symlink"},{"name":"link-self","type":"symlink"},{"name":"sub","type":"dir"}],"truncated":false}`
	if string(out) != want {
		t.Errorf("Run(fsread list /data) = %s, want %s", out, want)
	}
	checkFiles(t, "Run(fsread list /data)", res.Egress, map[string]string{"/data/hard": CodeFSHardLink, "/data/fifo": CodeFSSpecial})
}

func TestFSReadRefusals(t *testing.T) {
	tr := newTree(t, t.TempDir())
	for _, tc := range []struct {
		name, args, path, code string
	}{
		{"dot-dot", `{"path":"/data/../outside/secret.txt"}`, "/data/../outside/secret.txt", CodeFSEscape},
		{"relative dot-dot", `{"path":"../outside/secret.txt"}`, "/data/../outside/secret.txt", CodeFSEscape},
		{"absolute", `{"path":"/etc/passwd"}`, "/etc/passwd", CodeFSEscape},
		{"absolute symlink", `{"path":"/data/link-abs"}`, "/data/link-abs", CodeFSEscape},
		{"relative symlink", `{"path":"/data/link-rel"}`, "/data/link-rel", CodeFSEscape},
		{"symlinked directory", `{"path":"/data/link-dir","op":"list"}`, "/data/link-dir", CodeFSEscape},
		{"search through a symlinked directory", `{"path":"/data/link-dir","op":"search","pattern":"SECRET"}`, "/data/link-dir", CodeFSEscape},
		{"hard link", `{"path":"/data/hard"}`, "/data/hard", CodeFSHardLink},
		{"fifo", `{"path":"/data/fifo"}`, "/data/fifo", CodeFSSpecial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, res, err := fsreadCall(t, tr, tc.args)
			if codeOf(err) != sandbox.CodeToolError || !strings.Contains(publicOf(err), "refused by the sandbox") {
				t.Errorf("Run(fsread, %s) = %v, want a tool error saying the sandbox refused", tc.args, err)
			}
			if strings.Contains(string(res.Output), "SECRET") {
				t.Fatalf("Run(fsread, %s) read the secret", tc.args)
			}
			checkFiles(t, "Run(fsread, "+tc.args+")", res.Egress, map[string]string{tc.path: tc.code})
		})
	}
}

// TestFSReadSearchSkipsTraps: a search of the whole mount finds only
// what is inside and never follows a link out.
func TestFSReadSearchSkipsTraps(t *testing.T) {
	tr := newTree(t, t.TempDir())
	out, res, err := fsreadCall(t, tr, `{"path":"/data","op":"search","pattern":"SECRET|other"}`)
	if err != nil {
		t.Fatalf("Run(fsread search) error = %v", err)
	}
	if want := `{"path":"/data","pattern":"SECRET|other","matches":[],"files_searched":2,"truncated":false}`; string(out) != want {
		t.Errorf("Run(fsread search) = %s, want %s", out, want)
	}
	// The hard link and the FIFO list as files: opening them is refused.
	checkFiles(t, "Run(fsread search)", res.Egress, map[string]string{"/data/hard": CodeFSHardLink, "/data/fifo": CodeFSSpecial})
}

func TestFSReadNoMounts(t *testing.T) {
	res, err := goProgram(t, "fsread").Run(t.Context(), sandbox.Invocation{Args: []byte(`{"path":"/data/a.txt"}`), Limits: limits()})
	if codeOf(err) != sandbox.CodeToolError || !strings.Contains(publicOf(err), "no directories are mounted") {
		t.Errorf("Run(fsread, no mounts) = %v, want a tool error", err)
	}
	if res == nil || len(res.Egress) != 0 {
		t.Errorf("Run(fsread, no mounts) Egress = %+v, want none", res)
	}
}
