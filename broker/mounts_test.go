package broker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// TestMountsAndFileRefusals: a role's mounts reach the sandbox as absolute
// host directories at the tool's declared paths, a "*" grant mounts
// nothing, and the file entries a runtime records land in the audit
// record with their path.
func TestMountsAndFileRefusals(t *testing.T) {
	dir := t.TempDir()
	art := []byte("artifact of reader")
	sum := sha256.Sum256(art)
	files := map[string]string{
		"bin/reader.wasm": string(art),
		"data/a.txt":      "a",
		"manifests/reader.yaml": `apiVersion: toolwarden.dev/v1
kind: Tool
name: reader
version: 1.0.0
description: Reads mounted files.
runtime:
  wasm: {module: ../bin/reader.wasm, sha256: "` + hex.EncodeToString(sum[:]) + `"}
inputSchema: {type: object}
requires:
  mounts: [/data]
  egress: ["docs.example.com:443"]
`,
		"manifests/analyst.yaml": `apiVersion: toolwarden.dev/v1
kind: Role
name: analyst
tools:
  - name: reader
    mounts: [{host: ../data, guest: /data}]
`,
		"manifests/admin.yaml": "apiVersion: toolwarden.dev/v1\nkind: Role\nname: admin\ntools: [{name: \"*\"}]\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := manifests.LoadDir(filepath.Join(dir, "manifests"))
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	refused := []sandbox.EgressAttempt{
		{Host: "file", Path: "/data/../etc/passwd", Reason: "fs.escape"},
		{Host: "169.254.169.254", Port: 80, Reason: "egress.denied_address"},
	}
	runner := sandboxtest.NewRunner(func(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
		return &sandbox.Result{Output: []byte(`"done"`), Egress: refused}, nil
	})
	log := &memLog{}
	b, err := broker.New(context.Background(), broker.Config{Policy: mustPolicy(t, set), Runners: []sandbox.Runner{asWasm{runner}}, Audit: log})
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	defer b.Close(context.Background())

	for _, tc := range []struct {
		role string
		want []sandbox.Mount
	}{
		{"analyst", []sandbox.Mount{{Host: filepath.Join(dir, "data"), Guest: "/data"}}},
		{"admin", nil},
	} {
		if _, err := b.CallTool(context.Background(), broker.Call{Principal: principal(tc.role), Tool: "reader", Args: json.RawMessage(`{}`)}); err != nil {
			t.Fatalf("CallTool(reader) as %s: %v", tc.role, err)
		}
		calls := runner.Calls()
		inv := calls[len(calls)-1].Invocation
		if !slices.Equal(inv.Mounts, tc.want) {
			t.Errorf("as %s: Invocation.Mounts = %+v, want %+v", tc.role, inv.Mounts, tc.want)
		}
		if !slices.Equal(inv.Egress, []string{"docs.example.com:443"}) {
			t.Errorf("as %s: Invocation.Egress = %q, want the tool's", tc.role, inv.Egress)
		}
		want := []audit.Egress{
			{Host: "file", Path: "/data/../etc/passwd", Reason: "fs.escape"},
			{Host: "169.254.169.254", Port: 80, Reason: "egress.denied_address"},
		}
		if got := log.last(t).Egress; !slices.Equal(got, want) {
			t.Errorf("as %s: audit egress = %+v, want %+v", tc.role, got, want)
		}
	}
}
