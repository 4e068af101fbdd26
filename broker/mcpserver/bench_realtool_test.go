package mcpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
	"github.com/toolwarden/toolwarden/sandbox/wasm"
)

// The product path: the echo tool in a fresh wazero instance per call, the
// real broker and a durable (fsynced, group-committed) audit log behind the
// front door. Compare with BenchmarkBareMCPGo1/16.
func BenchmarkHTTPEchoWasm1(b *testing.B)  { benchHTTPEchoWasm(b, 1) }
func BenchmarkHTTPEchoWasm16(b *testing.B) { benchHTTPEchoWasm(b, 16) }

func benchHTTPEchoWasm(b *testing.B, workers int) {
	ctx := context.Background()
	module := sandboxtest.BuildWasm(b, "github.com/toolwarden/toolwarden/tools/echo")
	bin, err := os.ReadFile(module)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "echo.wasm"), bin, 0o644); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	files := map[string]string{
		"echo.yaml": fmt.Sprintf(`apiVersion: toolwarden.dev/v1
kind: Tool
name: echo
version: 1.0.0
description: Echo.
runtime:
  wasm: {module: echo.wasm, sha256: %q}
inputSchema:
  type: object
  properties: {text: {type: string}}
  additionalProperties: false
`, hex.EncodeToString(sum[:])),
	}
	for _, role := range alice.Roles {
		files[role+".yaml"] = fmt.Sprintf("apiVersion: toolwarden.dev/v1\nkind: Role\nname: %s\ntools:\n  - name: echo\n", role)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	set, err := manifests.LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	cache := filepath.Join(b.TempDir(), "cache")
	rt, err := wasm.New(wasm.Config{CacheDir: cache})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	log, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"), audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	br, err := broker.New(ctx, broker.Config{Policy: mustPolicy(b, set), Runners: []sandbox.Runner{rt}, Audit: log})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close(ctx)
	s, err := New(Config{Core: br, Auth: fakeAuth{}, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.Close()
	runCalls(b, ts.URL, workers, map[string]any{"text": "hi"})
}
