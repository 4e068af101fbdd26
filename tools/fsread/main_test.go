package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// dirOpener serves the sandbox path /data from dir, naming files by their
// sandbox path as sdk.Open does.
func dirOpener(dir string) opener {
	return func(name string) (*os.File, error) {
		rel, ok := strings.CutPrefix(name, "/data")
		if !ok || strings.Contains(rel, "..") {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		fd, err := syscall.Open(filepath.Join(dir, rel), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func call(t *testing.T, dir, args string) (string, error) {
	t.Helper()
	out, err := run(json.RawMessage(args), dirOpener(dir))
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(out)
	return string(b), nil
}

func TestOps(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"a.txt":         "alpha\nbeta\n",
		"bin":           "\x00\xff",
		"sub/c.md":      "gamma alpha\n",
		"sub/deep/d.go": "package alpha\n",
	})
	for _, tc := range []struct{ name, args, want string }{
		{"read", `{"path":"/data/a.txt"}`, `{"path":"/data/a.txt","size":11,"content":"alpha\nbeta\n","encoding":"utf-8","truncated":false}`},
		{"read binary", `{"path":"/data/bin","op":"read"}`, `{"path":"/data/bin","size":2,"content":"AP8=","encoding":"base64","truncated":false}`},
		{"list", `{"path":"/data","op":"list"}`, `{"path":"/data","entries":[{"name":"a.txt","type":"file","size":11},{"name":"bin","type":"file","size":2},{"name":"sub","type":"dir"}],"truncated":false}`},
		{"search", `{"path":"/data","op":"search","pattern":"alpha$"}`, `{"path":"/data","pattern":"alpha$","matches":[{"path":"/data/a.txt","line":1,"text":"alpha"},{"path":"/data/sub/c.md","line":1,"text":"gamma alpha"},{"path":"/data/sub/deep/d.go","line":1,"text":"package alpha"}],"files_searched":4,"truncated":false}`},
		{"search a file", `{"path":"/data/a.txt","op":"search","pattern":"b"}`, `{"path":"/data/a.txt","pattern":"b","matches":[{"path":"/data/a.txt","line":2,"text":"beta"}],"files_searched":1,"truncated":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := call(t, dir, tc.args)
			if err != nil || got != tc.want {
				t.Errorf("run(%s) = %s, %v; want %s", tc.args, got, err, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"a.txt": "a", "sub/b": "b"})
	for _, tc := range []struct{ name, args, want string }{
		{"missing path", `{}`, `missing required argument "path"`},
		{"unknown op", `{"path":"/data","op":"write"}`, `op "write" is not read, list or search`},
		{"search without pattern", `{"path":"/data","op":"search"}`, `op "search" needs argument "pattern"`},
		{"pattern without search", `{"path":"/data","pattern":"x"}`, `argument "pattern" is only for op "search"`},
		{"bad pattern", `{"path":"/data","op":"search","pattern":"("}`, "invalid pattern: error parsing regexp: missing closing ): `(`"},
		{"long pattern", `{"path":"/data","op":"search","pattern":"` + strings.Repeat("a", maxPatternBytes+1) + `"}`, "pattern is longer than 1024 bytes"},
		{"read a directory", `{"path":"/data/sub"}`, `/data/sub is a directory: use op "list"`},
		{"refused", `{"path":"/data/../etc/passwd"}`, "/data/../etc/passwd: refused by the sandbox (outside the mounted directories, a link out of them, or not a plain file)"},
		{"missing", `{"path":"/data/none"}`, "/data/none: no such file or directory"},
		{"unknown argument", `{"path":"/data","recursive":true}`, `decode arguments: unknown member "recursive" at /recursive (offset 16)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, dir, tc.args)
			if err == nil || err.Error() != tc.want {
				t.Errorf("run(%s) error = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestCaps(t *testing.T) {
	dir := t.TempDir()
	// A file just over the read cap whose cut would split a character.
	long := strings.Repeat("a", maxReadBytes-1) + "é" + "tail"
	files := map[string]string{"long.txt": long, "many/matches.txt": strings.Repeat("hit\n", maxMatches+5)}
	for i := range maxEntries + 1 {
		files[fmt.Sprintf("wide/%04d", i)] = ""
	}
	write(t, dir, files)

	out, err := run(json.RawMessage(`{"path":"/data/long.txt"}`), dirOpener(dir))
	if r, ok := out.(readReply); err != nil || !ok || !r.Truncated || r.Content != strings.Repeat("a", maxReadBytes-1) || r.Encoding != "utf-8" {
		t.Errorf("read over the cap = %d bytes, truncated %v, %v; want %d bytes of text", len(r.Content), r.Truncated, err, maxReadBytes-1)
	}
	out, err = run(json.RawMessage(`{"path":"/data/wide","op":"list"}`), dirOpener(dir))
	if r, ok := out.(listReply); err != nil || !ok || !r.Truncated || len(r.Entries) != maxEntries {
		t.Errorf("list over the cap = %d entries, truncated %v, %v; want %d", len(r.Entries), r.Truncated, err, maxEntries)
	}
	out, err = run(json.RawMessage(`{"path":"/data/many","op":"search","pattern":"hit"}`), dirOpener(dir))
	if r, ok := out.(searchReply); err != nil || !ok || !r.Truncated || len(r.Matches) != maxMatches {
		t.Errorf("search over the cap = %d matches, truncated %v, %v; want %d", len(r.Matches), r.Truncated, err, maxMatches)
	}
}
