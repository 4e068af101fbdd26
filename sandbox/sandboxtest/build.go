package sandboxtest

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// builds memoizes BuildWasm per package within one test process.
var builds sync.Map // pkg → *buildOnce

type buildOnce struct {
	once sync.Once
	out  string
	err  error
}

// BuildWasm builds the Go package pkg (an import path, or a path relative
// to the repository root such as "./tools/echo") with GOOS=wasip1
// GOARCH=wasm -trimpath -buildvcs=false into
// <repo>/build/wasm/<last element of pkg>.wasm and returns that path.
//
// # Notes
//
// The repository root is the nearest directory above the working directory
// holding go.mod. Each build writes into a temporary directory in build/wasm and
// renames the file into place, so test processes building the same package at
// once never see a partial file (the outputs are identical). Within one
// process each package is built once; the go build cache makes repeated
// builds cheap. A failed build fails the test with the compiler's output.
func BuildWasm(t testing.TB, pkg string) string {
	t.Helper()
	out, err := BuildWasmFile(pkg)
	if err != nil {
		t.Fatalf("BuildWasm(%q): %v", pkg, err)
	}
	return out
}

// BuildWasmFile is [BuildWasm] for code that has no [testing.TB], such as
// TestMain: it returns the build error instead of failing a test.
func BuildWasmFile(pkg string) (string, error) {
	v, _ := builds.LoadOrStore(pkg, &buildOnce{})
	b := v.(*buildOnce)
	b.once.Do(func() { b.out, b.err = buildWasm(pkg) })
	return b.out, b.err
}

func buildWasm(pkg string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "build", "wasm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, path.Base(strings.TrimSuffix(pkg, "/"))+".wasm")
	// Build into a fresh directory beside the output, then rename: atomic
	// on one filesystem.
	tmpDir, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmpDir)
	tmpName := filepath.Join(tmpDir, filepath.Base(out))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", tmpName, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build " + pkg + ": " + err.Error() + "\n" + string(msg))
	}
	if err := os.Rename(tmpName, out); err != nil {
		return "", err
	}
	return out, nil
}

// repoRoot walks up from the working directory to the directory holding
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
