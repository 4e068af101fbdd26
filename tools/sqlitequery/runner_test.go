package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	sandboxplugin "github.com/toolwarden/toolwarden/sandbox/plugin"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binary builds the tool the way `make tools` does (static, CGO_ENABLED=0)
// once per test process and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "sqlitequery-bin-"); binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", filepath.Join(binDir, "sqlitequery"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build sqlitequery: %v", binErr)
	}
	return filepath.Join(binDir, "sqlitequery")
}

// TestPluginRunner runs the built tool through the real isolated plugin
// runner, with the sample database's directory mounted read-only at /data:
// the path the quickstart takes.
func TestPluginRunner(t *testing.T) {
	sandboxtest.RequireIsolation(t, sandboxplugin.Available(false), "the tool inside the isolated plugin runner")
	db := samplePath(t)
	bin := binary(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)

	ctx := context.Background()
	r, err := sandboxplugin.New(sandboxplugin.Config{})
	if err != nil {
		t.Fatalf("plugin.New() error = %v", err)
	}
	defer func() {
		if err := r.Close(ctx); err != nil {
			t.Errorf("Runner.Close() error = %v", err)
		}
	}()
	prog, err := r.Prepare(ctx, sandbox.Spec{Tool: "sqlitequery", Path: bin, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatalf("Prepare() error = %v", err)
	}
	// The quickstart manifest's limits (timeout aside: the machine is noisy).
	limits := sandbox.Limits{Timeout: time.Minute, MemoryBytes: 128 << 20, OutputBytes: 320 << 10, MaxStderrBytes: 64 << 10}
	mounts := []sandbox.Mount{{Host: filepath.Dir(db), Guest: "/data"}}

	for _, tt := range []struct {
		name, query string
		mounts      []sandbox.Mount
		want, code  string
	}{
		{name: "select", query: `SELECT name, price_cents FROM products WHERE id = 1`, mounts: mounts,
			want: `{"columns":["name","price_cents"],"rows":[["keyboard",4900]],"truncated":false}`},
		{name: "byte cap fits the output limit", query: `WITH t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 200) SELECT x, hex(zeroblob(3000)) FROM t`, mounts: mounts,
			want: "truncated"},
		{name: "write refused", query: `WITH x AS (SELECT 1) DELETE FROM orders`, mounts: mounts,
			code: sandbox.CodeToolError, want: "query refused: only reads are allowed (the statement would change the database or the connection)"},
		{name: "no mount", query: `SELECT 1`,
			code: sandbox.CodeToolError, want: "no database at /data/sample.db (the tool's grant must mount the directory holding it read-only at /data): stat /data/sample.db: no such file or directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := prog.Run(ctx, sandbox.Invocation{Args: []byte(queryArgs(tt.query)), Limits: limits, Mounts: tt.mounts})
			if tt.want == "truncated" {
				if err != nil || !strings.HasSuffix(string(res.Output), `"truncated":true}`) || len(res.Output) > maxResultBytes {
					t.Fatalf("Run(%q) = %.100s... (%d bytes), %v; want a truncated result of at most %d bytes", tt.query, output(res), len(output(res)), err, maxResultBytes)
				}
				return
			}
			if tt.code == "" {
				if err != nil || string(res.Output) != tt.want {
					t.Fatalf("Run(%q) = %s, %v; want %s", tt.query, output(res), err, tt.want)
				}
				return
			}
			var se *sandbox.Error
			if !errors.As(err, &se) || se.Code != tt.code || se.Public != tt.want {
				t.Fatalf("Run(%q) error = %v; want %s: %s", tt.query, err, tt.code, tt.want)
			}
		})
	}
	if err := prog.Close(ctx); err != nil {
		t.Errorf("Program.Close() error = %v", err)
	}
}

func output(res *sandbox.Result) string {
	if res == nil {
		return "<nil>"
	}
	return string(res.Output)
}
