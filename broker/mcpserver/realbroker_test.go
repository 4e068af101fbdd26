package mcpserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// These tests run the front door on the real broker: manifests, policy,
// argument validation and the audit log, with a fake sandbox runner.

const realToolTmpl = `apiVersion: toolwarden.dev/v1
kind: Tool
name: %s
version: 1.0.0
description: Test tool %s.
runtime:
  wasm: {module: %s.wasm, sha256: "%s"}
inputSchema:
  $schema: https://json-schema.org/draft/2020-12/schema
  type: object
  properties:
    text: {type: string, maxLength: 64}
  required: [text]
  additionalProperties: false
risk: low
`

const realRoles = `analyst.yaml:apiVersion: toolwarden.dev/v1
kind: Role
name: analyst
tools:
  - name: echo
---
admin.yaml:apiVersion: toolwarden.dev/v1
kind: Role
name: admin
tools:
  - name: "*"
`

// wasmKind presents the fake runner as the wasm runtime the manifests name.
type wasmKind struct{ *sandboxtest.Runner }

func (wasmKind) Kind() string { return "wasm" }

// memAudit is an in-memory audit log that can be made to fail.
type memAudit struct {
	mu   sync.Mutex // guards following
	recs []audit.Record
	fail error
}

func (m *memAudit) Append(_ context.Context, r *audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	r.Seq = uint64(len(m.recs) + 1)
	m.recs = append(m.recs, *r)
	return nil
}

func (m *memAudit) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

func (m *memAudit) records() []audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs)
}

func (m *memAudit) last(t *testing.T) audit.Record {
	t.Helper()
	recs := m.records()
	if len(recs) == 0 {
		t.Fatal("no audit record")
	}
	return recs[len(recs)-1]
}

// newRealServer serves a real broker with tools echo and secret; bob
// (analyst) may call echo, alice (admin) both.
func newRealServer(t *testing.T) (*Server, *broker.Broker, *memAudit, string) {
	t.Helper()
	b, log := newRealBroker(t, func(_ context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		return &sandbox.Result{Output: bytes.Clone(inv.Args)}, nil
	}, nil)
	s, err := New(Config{Core: b, Auth: fakeAuth{}, ResourceURL: "https://broker.example.com/mcp", Logger: quietLogger()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, b, log, ts.URL
}

// newRealBroker is a real broker with tools echo and secret running run;
// mod, if set, changes its config.
func newRealBroker(t *testing.T, run sandboxtest.RunFunc, mod func(*broker.Config)) (*broker.Broker, *memAudit) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"echo", "secret"} {
		art := []byte("artifact of " + name)
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), art, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(art)
		m := fmt.Sprintf(realToolTmpl, name, name, name, hex.EncodeToString(sum[:]))
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, doc := range strings.Split(realRoles, "---\n") {
		name, body, _ := strings.Cut(doc, ":")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := manifests.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	runner := sandboxtest.NewRunner(run)
	log := &memAudit{}
	ctx := context.Background()
	cfg := broker.Config{Policy: mustPolicy(t, set), Runners: []sandbox.Runner{wasmKind{runner}}, Audit: log, Logger: quietLogger()}
	if mod != nil {
		mod(&cfg)
	}
	b, err := broker.New(ctx, cfg)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	t.Cleanup(func() { b.Close(ctx) })
	return b, log
}

func TestRealBrokerHTTP(t *testing.T) {
	_, b, log, url := newRealServer(t)
	for _, v := range versions {
		t.Run(versionName(v), func(t *testing.T) {
			ctx := context.Background()
			c := newClient(t, url, tokenBob, v)
			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			if got := toolNames(tools.Tools); !slices.Equal(got, []string{"echo"}) {
				t.Errorf("bob's tools = %v, want [echo]", got)
			}

			res, err := c.CallTool(ctx, callRequest("echo", map[string]any{"text": "hello"}))
			if err != nil || res.IsError {
				t.Fatalf("CallTool(echo) = %+v, %v", res, err)
			}
			if text := res.Content[0].(mcp.TextContent).Text; !jsonEqual(t, []byte(text), []byte(`{"text":"hello"}`)) {
				t.Errorf("echo result = %s", text)
			}
			rec := log.last(t)
			wantProto := v
			if v == "" {
				wantProto = mcp.ProtocolVersion20260728
			}
			if rec.Decision != audit.DecisionAllow || rec.Tool != "echo" || rec.Subject != "bob" || rec.KeyID != "key-bob" ||
				rec.Transport != TransportHTTP || rec.Session != c.GetSessionId() || rec.RequestID == "" ||
				rec.Protocol != wantProto || rec.ClientName != "test-client" || rec.ClientVersion != "1.2.3" ||
				rec.Model != "test-model-1" || !strings.HasPrefix(rec.RemoteAddr, "127.0.0.1:") || rec.UserAgent == "" {
				t.Errorf("audit record = %+v", rec)
			}
			if got, ok := res.Meta.AdditionalFields[MetaKeySeq].(float64); !ok || uint64(got) != rec.Seq {
				t.Errorf("result _meta seq = %v, want %d", res.Meta.AdditionalFields[MetaKeySeq], rec.Seq)
			}

			// Denied and unknown: one reply, two audit reasons.
			_, deniedErr := c.CallTool(ctx, callRequest("secret", map[string]any{"text": "x"}))
			deniedRec := log.last(t)
			_, unknownErr := c.CallTool(ctx, callRequest("nope", map[string]any{"text": "x"}))
			unknownRec := log.last(t)
			if deniedErr == nil || unknownErr == nil {
				t.Fatalf("denied/unknown calls succeeded")
			}
			if d, u := strings.ReplaceAll(deniedErr.Error(), "secret", "NAME"), strings.ReplaceAll(unknownErr.Error(), "nope", "NAME"); d != u {
				t.Errorf("denied and unknown replies differ:\n%s\n%s", d, u)
			}
			if deniedRec.Reason != broker.CodeDeniedRole || unknownRec.Reason != broker.CodeUnknownTool {
				t.Errorf("audit reasons = %q, %q; want %s, %s", deniedRec.Reason, unknownRec.Reason, broker.CodeDeniedRole, broker.CodeUnknownTool)
			}

			res, err = c.CallTool(ctx, callRequest("echo", map[string]any{"text": 5}))
			if err != nil || !res.IsError {
				t.Fatalf("CallTool(echo, text 5) = %+v, %v; want an isError result", res, err)
			}
			if text := res.Content[0].(mcp.TextContent).Text; !strings.HasPrefix(text, broker.CodeInvalidArgs+": ") {
				t.Errorf("invalid arguments reply = %q", text)
			}
			if rec := log.last(t); rec.Reason != broker.CodeInvalidArgs {
				t.Errorf("audit reason = %q, want %s", rec.Reason, broker.CodeInvalidArgs)
			}
		})
	}

	t.Run("schema as the broker gives it", func(t *testing.T) {
		want := b.ListTools(context.Background(), bob)[0].InputSchema
		_, body := rawPost(t, url, modernBody(1, "tools/list", nil), map[string]string{"Authorization": "Bearer " + tokenBob, mcp.HeaderMethod: "tools/list"})
		var result struct {
			Tools []struct {
				InputSchema json.RawMessage `json:"inputSchema"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(decodeReply(t, body).Result, &result); err != nil || len(result.Tools) != 1 {
			t.Fatalf("tools/list = %s (%v)", body, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, want); err != nil {
			t.Fatal(err)
		}
		if got := string(result.Tools[0].InputSchema); got != compact.String() || !strings.Contains(got, `"$schema"`) {
			t.Errorf("inputSchema = %s\nwant %s", got, compact.String())
		}
	})

	t.Run("unauthenticated call is audited", func(t *testing.T) {
		body := modernBody(8, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "hello"}})
		resp, _ := rawPost(t, url, body, map[string]string{"Authorization": "Bearer stolen", mcp.HeaderMethod: "tools/call", mcp.HeaderName: "echo"})
		if resp.StatusCode != 401 {
			t.Fatalf("status = %d, want 401", resp.StatusCode)
		}
		rec := log.last(t)
		if rec.Decision != audit.DecisionDeny || rec.Reason != "auth.invalid" || rec.Tool != "echo" || rec.Transport != TransportHTTP || rec.RequestID != "8" {
			t.Errorf("audit record of the refused call = %+v", rec)
		}
	})

	t.Run("audit unavailable", func(t *testing.T) {
		log.setFail(errors.New("disk full at /var/log/toolwarden"))
		defer log.setFail(nil)
		c := newClient(t, url, tokenAlice, "")
		res, err := c.CallTool(context.Background(), callRequest("echo", map[string]any{"text": "hello"}))
		if err != nil || !res.IsError {
			t.Fatalf("CallTool with a failing log = %+v, %v; want an isError result", res, err)
		}
		if text := res.Content[0].(mcp.TextContent).Text; text != "audit.unavailable: audit unavailable" {
			t.Errorf("reply = %q", text)
		}
	})
}

func TestRealBrokerStdio(t *testing.T) {
	s, _, log, _ := newRealServer(t)
	in, out, wait := stdioPipe(t, s, alice)
	c := client.NewClient(transport.NewIO(out, in, nil))
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "stdio-client", Version: "2"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	if got := toolNames(tools.Tools); !slices.Equal(got, []string{"echo", "secret"}) {
		t.Errorf("alice's tools = %v, want [echo secret]", got)
	}
	res, err := c.CallTool(ctx, callRequest("secret", map[string]any{"text": "for admins"}))
	if err != nil || res.IsError {
		t.Fatalf("CallTool(secret) = %+v, %v", res, err)
	}
	rec := log.last(t)
	if rec.Decision != audit.DecisionAllow || rec.Tool != "secret" || rec.Transport != TransportStdio || rec.ClientName != "stdio-client" || rec.Subject != "alice" {
		t.Errorf("audit record = %+v", rec)
	}
	c.Close()
	if err := wait(); err != nil {
		t.Errorf("ServeStdio = %v", err)
	}
}

// mustPolicy computes the policy of set with the default limits.
func mustPolicy(t testing.TB, set *manifests.Set) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.Config{Set: set})
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	return p
}
