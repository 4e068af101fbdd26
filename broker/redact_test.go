package broker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/redact"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// redactFixture is a tool whose schema marks "note" sensitive, and a role
// granting it.
func redactFixture(t *testing.T) *manifests.Set {
	t.Helper()
	dir := t.TempDir()
	art := []byte("artifact of notes")
	sum := sha256.Sum256(art)
	files := map[string]string{
		"notes.wasm": string(art),
		"notes.yaml": `apiVersion: toolwarden.dev/v1
kind: Tool
name: notes
version: 1.0.0
description: Keeps notes.
runtime:
  wasm: {module: notes.wasm, sha256: "` + hex.EncodeToString(sum[:]) + `"}
inputSchema:
  type: object
  properties:
    text: {type: string}
    note: {type: string, sensitive: true}
  additionalProperties: false
`,
		"plain.yaml": `apiVersion: toolwarden.dev/v1
kind: Role
name: plain
tools:
  - name: notes
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := manifests.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return set
}

func TestRedactionInAudit(t *testing.T) {
	red, err := redact.New(bytes.Repeat([]byte{5}, audit.HMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	const token = "Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"
	log := &memLog{}
	runner := sandboxtest.NewRunner(func(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		if bytes.Contains(inv.Args, []byte("fail")) {
			return nil, &sandbox.Error{Code: sandbox.CodeTrap, Public: "upstream said: Authorization: Bearer " + token}
		}
		return echoRun(ctx, inv)
	})
	b, err := broker.New(context.Background(), broker.Config{Policy: mustPolicy(t, redactFixture(t)), Runners: []sandbox.Runner{asWasm{runner}}, Audit: log, Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	call := func(role, args string) audit.Record {
		t.Helper()
		b.CallTool(context.Background(), broker.Call{Principal: principal(role), Tool: "notes", Args: json.RawMessage(args)})
		return log.last(t)
	}

	// A sensitive argument is replaced by the HMAC marker of its value.
	rec := call("plain", `{"text":"hi","note":"the vault code is 0451"}`)
	if bytes.Contains(rec.Arguments, []byte("0451")) {
		t.Errorf("sensitive argument logged: %s", rec.Arguments)
	}
	if want := red.Marker("the vault code is 0451"); !bytes.Contains(rec.Arguments, []byte(want)) || !bytes.Contains(rec.Arguments, []byte(`"text":"hi"`)) {
		t.Errorf("arguments %s, want the marker %s and the plain text kept", rec.Arguments, want)
	}
	// Secret-looking text in any argument and in the error is redacted,
	// with the same marker in both.
	rec = call("plain", `{"text":"fail with Bearer `+token+`"}`)
	if strings.Contains(rec.Error, token) || bytes.Contains(rec.Arguments, []byte(token)) {
		t.Fatalf("token logged: arguments %s, error %q", rec.Arguments, rec.Error)
	}
	m := red.Marker(token)
	if !strings.Contains(rec.Error, m) || !bytes.Contains(rec.Arguments, []byte(m)) {
		t.Errorf("error %q and arguments %s, want both to carry %s", rec.Error, rec.Arguments, m)
	}
	if rec.Reason != sandbox.CodeTrap {
		t.Errorf("reason = %q, want %q", rec.Reason, sandbox.CodeTrap)
	}
}
