package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Pin recomputes the SHA-256 of the artifact named by the tool manifest at
// file and writes it into the manifest's sha256 value, leaving every other
// byte of the file as it was. It reports whether the file changed. The
// manifest must parse (see [ParseTool]) before and after; the file is
// replaced atomically.
//
// # Notes
//
// Pin trusts the artifact it hashes: run it on artifacts you built or
// reviewed.
func Pin(file string) (changed bool, err error) {
	data, err := readManifest(file)
	if err != nil {
		return false, fmt.Errorf("pin %s: %w", file, err)
	}
	t, err := ParseTool(data, file)
	if err != nil {
		return false, fmt.Errorf("pin: %w", err)
	}
	sum, err := fileSHA256(t.ArtifactPath())
	if err != nil {
		return false, fmt.Errorf("pin %s: artifact %s: %w", file, t.ArtifactPath(), err)
	}
	old := t.ArtifactSHA256()
	if sum == old {
		return false, nil
	}
	out, err := replaceDigest(data, t.RuntimeKind(), old, sum)
	if err != nil {
		return false, fmt.Errorf("pin %s: %w", file, err)
	}
	// The rewrite must change the digest and nothing else.
	after, err := ParseTool(out, file)
	if err != nil {
		return false, fmt.Errorf("pin %s: rewritten manifest does not parse: %w", file, err)
	}
	want := *t
	switch {
	case want.Runtime.Wasm != nil:
		w := *want.Runtime.Wasm
		w.SHA256 = sum
		want.Runtime.Wasm = &w
	default:
		p := *want.Runtime.Plugin
		p.SHA256 = sum
		want.Runtime.Plugin = &p
	}
	want.schema, after.schema = nil, nil
	if !reflect.DeepEqual(&want, after) {
		return false, fmt.Errorf("pin %s: rewriting the digest would change more than the digest", file)
	}
	if err := writeFileAtomic(file, out); err != nil {
		return false, fmt.Errorf("pin %s: %w", file, err)
	}
	return true, nil
}

// replaceDigest finds the scalar runtime.<kind>.sha256 in the YAML (or
// JSON) text and replaces the old digest inside it with sum.
func replaceDigest(data []byte, kind, old, sum string) ([]byte, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil || len(f.Docs) == 0 || f.Docs[0] == nil {
		return nil, errors.New("cannot parse the manifest as YAML to locate the digest")
	}
	node := f.Docs[0].Body
	for _, key := range []string{"runtime", kind, "sha256"} {
		node = member(node, key)
		if node == nil {
			return nil, fmt.Errorf("cannot locate runtime.%s.sha256", kind)
		}
	}
	tk := node.GetToken()
	if tk == nil || tk.Position == nil {
		return nil, fmt.Errorf("cannot locate runtime.%s.sha256", kind)
	}
	// Find the line the value's token starts on, and the old digest on it.
	line := tk.Position.Line
	start := 0
	for n := 1; n < line; n++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return nil, fmt.Errorf("cannot locate runtime.%s.sha256", kind)
		}
		start += i + 1
	}
	end := len(data)
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		end = start + i
	}
	text := data[start:end]
	if bytes.Count(text, []byte(old)) != 1 {
		return nil, fmt.Errorf("cannot locate the digest %s on line %d", old, line)
	}
	i := start + bytes.Index(text, []byte(old))
	out := make([]byte, 0, len(data)-len(old)+len(sum))
	out = append(out, data[:i]...)
	out = append(out, sum...)
	out = append(out, data[i+len(old):]...)
	return out, nil
}

// member returns the value of key in a YAML mapping node, or nil.
func member(n ast.Node, key string) ast.Node {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil
	}
	for _, mv := range values {
		if k, ok := mv.Key.(*ast.StringNode); ok && k.Value == key {
			return mv.Value
		}
	}
	return nil
}

// writeFileAtomic replaces path (or, for a symbolic link, the file it
// points to) with data, keeping its permissions.
func writeFileAtomic(path string, data []byte) error {
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".pin-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}
