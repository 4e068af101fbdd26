package sandboxtest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

func TestBuildWasm(t *testing.T) {
	path := sandboxtest.BuildWasm(t, "./tools/echo")
	if filepath.Base(path) != "echo.wasm" || filepath.Base(filepath.Dir(path)) != "wasm" || filepath.Base(filepath.Dir(filepath.Dir(path))) != "build" {
		t.Errorf("BuildWasm path = %s, want <repo>/build/wasm/echo.wasm", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x00asm")) {
		t.Errorf("%s does not start with the wasm magic", path)
	}
	if again := sandboxtest.BuildWasm(t, "./tools/echo"); again != path {
		t.Errorf("second BuildWasm = %s, want %s", again, path)
	}
	if _, err := sandboxtest.BuildWasmFile("./no/such/package"); err == nil {
		t.Errorf("BuildWasmFile(missing package) error = nil, want the go build failure")
	}
}
