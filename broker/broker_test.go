package broker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// asWasm presents a fake runner as the wasm runtime the test manifests name.
type asWasm struct{ *sandboxtest.Runner }

func (asWasm) Kind() string { return "wasm" }

const toolTmpl = `apiVersion: toolwarden.dev/v1
kind: Tool
name: %s
version: 1.2.3
description: A test tool.
runtime:
  wasm: {module: %s.wasm, sha256: "%s"}
inputSchema:
  $schema: https://json-schema.org/draft/2020-12/schema
  type: object
  properties:
    text: {type: string, maxLength: 64}
    count: {type: integer}
    password: {type: string}
    apikey: {type: string, sensitive: true}
  required: [text]
  additionalProperties: false
risk: %s
`

const roles = `
analyst.yaml:apiVersion: toolwarden.dev/v1
kind: Role
name: analyst
tools:
  - name: echo
    arguments:
      text: {pattern: "^hello"}
  - name: limited
    rate: 2/min
---
admin.yaml:apiVersion: toolwarden.dev/v1
kind: Role
name: admin
tools:
  - name: "*"
---
strict.yaml:apiVersion: toolwarden.dev/v1
kind: Role
name: strict
tools:
  - name: echo
    onRefusal: fail
    output: {injection: block, stripURLs: true}
  - name: secretive
---
nobody.yaml:apiVersion: toolwarden.dev/v1
kind: Role
name: nobody
tools:
  - name: secretive
`

// fixture writes a manifest set with tools echo, limited, risky and
// secretive into a temp dir and loads it.
func fixture(t testing.TB) *manifests.Set {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []struct{ name, risk string }{{"echo", "low"}, {"limited", "low"}, {"risky", "high"}, {"secretive", "low"}} {
		art := []byte("artifact of " + tool.name)
		if err := os.WriteFile(filepath.Join(dir, tool.name+".wasm"), art, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(art)
		m := fmt.Sprintf(toolTmpl, tool.name, tool.name, hex.EncodeToString(sum[:]), tool.risk)
		if tool.name == "secretive" {
			m += "requires:\n  secrets: [WIKI_TOKEN]\n"
		}
		if err := os.WriteFile(filepath.Join(dir, tool.name+".yaml"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, doc := range strings.Split(roles, "---\n") {
		name, body, _ := strings.Cut(strings.TrimLeft(doc, "\n"), ":")
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

// memLog is an in-memory audit sink that can be made to fail.
type memLog struct {
	mu   sync.Mutex
	recs []audit.Record
	fail error
}

func (m *memLog) Append(_ context.Context, r *audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	r.Seq = uint64(len(m.recs) + 1)
	m.recs = append(m.recs, *r)
	return nil
}

func (m *memLog) last(t *testing.T) audit.Record {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		t.Fatal("no audit record written")
	}
	return m.recs[len(m.recs)-1]
}

func echoRun(_ context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
	return &sandbox.Result{Output: bytes.Clone(inv.Args), PeakMemoryBytes: 65536}, nil
}

type env struct {
	b      *broker.Broker
	log    *memLog
	runner *sandboxtest.Runner
}

func newEnv(t *testing.T, run sandboxtest.RunFunc, mod func(*broker.Config)) *env {
	t.Helper()
	e := &env{log: &memLog{}, runner: sandboxtest.NewRunner(run)}
	cfg := broker.Config{Policy: mustPolicy(t, fixture(t)), Runners: []sandbox.Runner{asWasm{e.runner}}, Audit: e.log}
	if mod != nil {
		mod(&cfg)
	}
	b, err := broker.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	e.b = b
	return e
}

func principal(roles ...string) auth.Principal {
	return auth.Principal{Tenant: "acme", Subject: "alice", Roles: roles, Method: "cli"}
}

func codeOf(err error) string {
	var be *broker.Error
	if errors.As(err, &be) {
		return be.Code
	}
	if err != nil {
		return "not a *broker.Error: " + err.Error()
	}
	return ""
}

func TestCallTool(t *testing.T) {
	tests := []struct {
		name     string
		roles    []string
		tool     string
		args     string
		run      sandboxtest.RunFunc
		wantCode string // "" for success
		wantDec  string
		wantRole string
		wantMsg  string // substring of the public message
	}{
		{name: "allowed", roles: []string{"analyst"}, tool: "echo", args: `{"text":"hello world"}`, wantDec: "allow", wantRole: "analyst"},
		{name: "unknown tool", roles: []string{"analyst"}, tool: "nope", args: `{}`, wantCode: "denied.unknown_tool", wantDec: "deny", wantMsg: `unknown tool: "nope"`},
		{name: "tool not granted", roles: []string{"analyst"}, tool: "secretive", args: `{"text":"x"}`, wantCode: "denied.role", wantDec: "deny", wantMsg: `unknown tool: "secretive"`},
		{name: "no roles", roles: nil, tool: "echo", args: `{"text":"hello"}`, wantCode: "denied.role", wantDec: "deny"},
		{name: "role constraint", roles: []string{"analyst"}, tool: "echo", args: `{"text":"bye"}`, wantCode: "denied.arguments", wantDec: "deny", wantMsg: "/text"},
		{name: "schema violation", roles: []string{"analyst"}, tool: "echo", args: `{"text":"hello","extra":1}`, wantCode: "invalid.arguments", wantDec: "deny"},
		{name: "missing required", roles: []string{"admin"}, tool: "echo", args: `{}`, wantCode: "invalid.arguments", wantDec: "deny", wantMsg: "text"},
		{name: "no coercion", roles: []string{"admin"}, tool: "echo", args: `{"text":"hello","count":"1"}`, wantCode: "invalid.arguments", wantDec: "deny", wantMsg: "/count"},
		{name: "duplicate key", roles: []string{"admin"}, tool: "echo", args: `{"text":"hello","text":"bye"}`, wantCode: "invalid.arguments", wantDec: "deny", wantMsg: "duplicate"},
		{name: "case-variant key", roles: []string{"admin"}, tool: "echo", args: `{"text":"hello","Text":"bye"}`, wantCode: "invalid.arguments", wantDec: "deny"},
		{name: "invalid utf-8", roles: []string{"admin"}, tool: "echo", args: "{\"text\":\"hello\xff\"}", wantCode: "invalid.arguments", wantDec: "deny"},
		{name: "too deep", roles: []string{"admin"}, tool: "echo", args: strings.Repeat(`{"a":`, 65) + `1` + strings.Repeat(`}`, 65), wantCode: "invalid.arguments", wantDec: "deny"},
		{name: "not an object", roles: []string{"admin"}, tool: "echo", args: `["text"]`, wantCode: "invalid.arguments", wantDec: "deny"},
		{name: "second role admits", roles: []string{"analyst", "admin"}, tool: "echo", args: `{"text":"bye"}`, wantDec: "allow", wantRole: "admin"},
		{name: "high risk needs approval", roles: []string{"admin"}, tool: "risky", args: `{"text":"x"}`, wantCode: "denied.approval", wantDec: "deny"},
		{name: "sandbox timeout", roles: []string{"admin"}, tool: "echo", args: `{"text":"x"}`,
			run: func(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
				return nil, &sandbox.Error{Code: sandbox.CodeTimeout, Public: "tool ran past its 5s limit", Err: errors.New("deadline")}
			}, wantCode: "sandbox.timeout", wantDec: "allow", wantMsg: "5s limit"},
		{name: "tool error", roles: []string{"admin"}, tool: "echo", args: `{"text":"x"}`,
			run: func(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
				return nil, &sandbox.Error{Code: sandbox.CodeToolError, Public: "no such file"}
			}, wantCode: "tool.error", wantDec: "allow", wantMsg: "no such file"},
		{name: "output too large", roles: []string{"admin"}, tool: "echo", args: `{"text":"x"}`,
			run: func(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
				return nil, &sandbox.Error{Code: sandbox.CodeOutputTooLarge, Public: "output over cap", Err: &sandbox.OutputLimitError{Limit: 10}}
			}, wantCode: "output.too_large", wantDec: "allow"},
		{name: "uncoded runtime failure is internal", roles: []string{"admin"}, tool: "echo", args: `{"text":"x"}`,
			run: func(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
				return nil, errors.New("secret internal detail")
			}, wantCode: "internal", wantDec: "allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := tt.run
			if run == nil {
				run = echoRun
			}
			e := newEnv(t, run, nil)
			out, err := e.b.CallTool(context.Background(), broker.Call{
				Principal: principal(tt.roles...), Tool: tt.tool, Args: json.RawMessage(tt.args),
				Meta: broker.Meta{Transport: "cli", RequestID: "7"},
			})
			if got := codeOf(err); got != tt.wantCode {
				t.Fatalf("CallTool(%q) code = %q, want %q (err %v)", tt.tool, got, tt.wantCode, err)
			}
			if err != nil {
				var be *broker.Error
				errors.As(err, &be)
				if !strings.Contains(be.Public, tt.wantMsg) {
					t.Errorf("CallTool(%q) public message = %q, want it to contain %q", tt.tool, be.Public, tt.wantMsg)
				}
				if strings.Contains(be.Public, "secret internal detail") {
					t.Errorf("public message leaks the internal cause: %q", be.Public)
				}
			} else if string(out.Result) != tt.args {
				t.Errorf("result = %s, want the arguments echoed byte for byte: %s", out.Result, tt.args)
			}
			rec := e.log.last(t)
			if rec.Decision != tt.wantDec {
				t.Errorf("audit decision = %q, want %q", rec.Decision, tt.wantDec)
			}
			if rec.Reason != tt.wantCode {
				t.Errorf("audit reason = %q, want %q", rec.Reason, tt.wantCode)
			}
			if rec.Tool != tt.tool || rec.Tenant != "acme" || rec.Subject != "alice" || rec.RequestID != "7" || rec.Transport != "cli" {
				t.Errorf("audit record who/what = %+v", rec)
			}
			if tt.wantRole != "" && rec.GrantedBy != tt.wantRole {
				t.Errorf("audit granted_by = %q, want %q", rec.GrantedBy, tt.wantRole)
			}
			if tt.wantCode == "" && (rec.Outcome != "ok" || rec.ResultSHA256 == "" || rec.ToolDigest == "" || rec.Sandbox != "wasm") {
				t.Errorf("audit record of a successful call lacks outcome/result hash/digest/sandbox: %+v", rec)
			}
			if tt.wantCode == "internal" && !strings.Contains(rec.Error, "secret internal detail") {
				t.Errorf("audit error = %q, want the internal cause recorded", rec.Error)
			}
		})
	}
}

func TestSandboxGetsTheValidatedBytes(t *testing.T) {
	e := newEnv(t, echoRun, nil)
	args := `{ "text" : "hello \u0041" , "count": 10000000000000000000001 }`
	if _, err := e.b.CallTool(context.Background(), broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(args)}); err != nil {
		t.Fatal(err)
	}
	calls := e.runner.Calls()
	if len(calls) != 1 || string(calls[0].Invocation.Args) != args {
		t.Fatalf("sandbox got %q, want exactly the bytes validated: %q", calls[0].Invocation.Args, args)
	}
	lim := calls[0].Invocation.Limits
	if lim.Timeout <= 0 || lim.MemoryBytes <= 0 || lim.OutputBytes <= 0 || lim.MaxStderrBytes <= 0 {
		t.Errorf("limits not filled: %+v", lim)
	}
	rec := e.log.last(t)
	sum := sha256.Sum256([]byte(args))
	if rec.ArgsSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("args_sha256 = %s, want SHA-256 of the exact bytes", rec.ArgsSHA256)
	}
}

func TestSecretsRedactedInAudit(t *testing.T) {
	e := newEnv(t, echoRun, nil)
	args := `{"text":"hello","password":"hunter2","apikey":"sk-live-123"}`
	if _, err := e.b.CallTool(context.Background(), broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(args)}); err != nil {
		t.Fatal(err)
	}
	rec := e.log.last(t)
	if bytes.Contains(rec.Arguments, []byte("hunter2")) || bytes.Contains(rec.Arguments, []byte("sk-live-123")) {
		t.Errorf("audit arguments leak a secret: %s", rec.Arguments)
	}
	if !bytes.Contains(rec.Arguments, []byte(`"text":"hello"`)) {
		t.Errorf("audit arguments lost a plain value: %s", rec.Arguments)
	}
}

func TestAuditUnavailableFailsClosed(t *testing.T) {
	e := newEnv(t, echoRun, nil)
	e.log.fail = errors.New("disk full")
	out, err := e.b.CallTool(context.Background(), broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(`{"text":"x"}`)})
	if got := codeOf(err); got != "audit.unavailable" {
		t.Fatalf("code = %q, want audit.unavailable", got)
	}
	if out != nil {
		t.Errorf("a result was returned although it could not be audited: %s", out.Result)
	}
}

func TestArgumentSizeCap(t *testing.T) {
	e := newEnv(t, echoRun, func(c *broker.Config) {
		p, err := policy.New(policy.Config{Set: c.Policy.Set(), MaxArgumentBytes: 64})
		if err != nil {
			t.Fatal(err)
		}
		c.Policy = p
	})
	_, err := e.b.CallTool(context.Background(), broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(`{"text":"` + strings.Repeat("a", 100) + `"}`)})
	if got := codeOf(err); got != "invalid.arguments_size" {
		t.Fatalf("code = %q, want invalid.arguments_size", got)
	}
}

func TestNextCallAfterFailureSucceeds(t *testing.T) {
	var mu sync.Mutex
	fail := true
	e := newEnv(t, func(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			return nil, &sandbox.Error{Code: sandbox.CodeTrap, Public: "tool trapped"}
		}
		return echoRun(ctx, inv)
	}, nil)
	call := broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(`{"text":"x"}`)}
	if _, err := e.b.CallTool(context.Background(), call); codeOf(err) != "sandbox.trap" {
		t.Fatalf("first call: %v, want sandbox.trap", err)
	}
	if _, err := e.b.CallTool(context.Background(), call); err != nil {
		t.Fatalf("next call after a trap: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, echoRun, nil)
		call := broker.Call{Principal: principal("analyst"), Tool: "limited", Args: json.RawMessage(`{"text":"x"}`)}
		for i := range 2 {
			if _, err := e.b.CallTool(context.Background(), call); err != nil {
				t.Fatalf("call %d within 2/min: %v", i+1, err)
			}
		}
		_, err := e.b.CallTool(context.Background(), call)
		if got := codeOf(err); got != "limit.rate" {
			t.Fatalf("third call code = %q, want limit.rate", got)
		}
		if rec := e.log.last(t); rec.Reason != "limit.rate" || rec.Decision != "deny" {
			t.Errorf("audit = %s/%s, want deny/limit.rate", rec.Decision, rec.Reason)
		}
		other := call
		other.Principal.Subject = "bob"
		if _, err := e.b.CallTool(context.Background(), other); err != nil {
			t.Errorf("another subject shares alice's budget: %v", err)
		}
		// 2/min means at most 2 in any minute: half a minute on, still
		// refused; once the minute of the first two has passed, admitted.
		time.Sleep(30 * time.Second)
		if _, err := e.b.CallTool(context.Background(), call); codeOf(err) != "limit.rate" {
			t.Errorf("third call within the same minute: %v, want limit.rate", err)
		}
		time.Sleep(31 * time.Second)
		if _, err := e.b.CallTool(context.Background(), call); err != nil {
			t.Errorf("call after the minute passed: %v", err)
		}
	})
}

// TestKillSwitch edits the kill switch file while the broker serves: each
// change takes effect within one poll, and a broken file refuses every
// call with its line in the audit record.
func TestKillSwitch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killswitch")
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, echoRun, func(c *broker.Config) { c.KillSwitchFile = path })
		call := broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(`{"text":"x"}`)}
		steps := []struct {
			content  string // "" removes the file
			wantCode string
		}{
			{"", ""},
			{"# nothing off\n", ""},
			{"tool echo\n", "denied.kill_switch"},
			{"tool other\ntenant acme\n", "denied.kill_switch"},
			{"tenant other\n", ""},
			{"all\n", "denied.kill_switch"},
			{"tenant other\nthis is not a rule\n", "denied.kill_switch"}, // broken file: fail closed
			{"", ""},
		}
		for i, s := range steps {
			if s.content == "" {
				os.Remove(path)
			} else {
				if err := os.WriteFile(path, []byte(s.content), 0o644); err != nil {
					t.Fatal(err)
				}
				// The change is seen even within the file system's mtime granularity.
				os.Chtimes(path, time.Now(), time.Unix(int64(1e9+i), 0))
			}
			time.Sleep(broker.KillSwitchPoll + time.Millisecond)
			_, err := e.b.CallTool(context.Background(), call)
			if got := codeOf(err); got != s.wantCode {
				t.Errorf("step %d (%q): code = %q, want %q", i, s.content, got, s.wantCode)
			}
			if s.wantCode != "" && e.log.last(t).Reason != s.wantCode {
				t.Errorf("step %d: audit reason %q, want %q", i, e.log.last(t).Reason, s.wantCode)
			}
			if strings.Contains(s.content, "not a rule") && !strings.Contains(e.log.last(t).Error, "line 2") {
				t.Errorf("broken file refusal audited as %q, want the bad line named", e.log.last(t).Error)
			}
		}
		e.b.Close(context.Background()) // stops the watcher inside the bubble
	})
}

func TestConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	e := newEnv(t, func(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		started <- struct{}{}
		<-release
		return echoRun(ctx, inv)
	}, func(c *broker.Config) { c.MaxConcurrentPerTenant = 2 })
	call := broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(`{"text":"x"}`)}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { e.b.CallTool(context.Background(), call) })
	}
	<-started
	<-started
	_, err := e.b.CallTool(context.Background(), call)
	if got := codeOf(err); got != "limit.concurrency" {
		t.Errorf("third concurrent call code = %q, want limit.concurrency", got)
	}
	other := call
	other.Principal.Tenant = "globex"
	done := make(chan error, 1)
	go func() { _, err := e.b.CallTool(context.Background(), other); done <- err }()
	<-started
	close(release)
	if err := <-done; err != nil {
		t.Errorf("another tenant was limited by acme's calls: %v", err)
	}
	wg.Wait()
}

func TestListToolsPerRole(t *testing.T) {
	e := newEnv(t, echoRun, nil)
	names := func(roles ...string) string {
		var n []string
		for _, ti := range e.b.ListTools(context.Background(), principal(roles...)) {
			n = append(n, ti.Name)
		}
		return strings.Join(n, ",")
	}
	for _, tt := range []struct {
		roles []string
		want  string
	}{
		{nil, ""},
		{[]string{"analyst"}, "echo,limited"},
		{[]string{"nobody"}, "secretive"},
		{[]string{"admin"}, "echo,limited,risky"}, // "*" does not reach secretive: it takes secrets
		{[]string{"ghost"}, ""},
	} {
		if got := names(tt.roles...); got != tt.want {
			t.Errorf("ListTools(%v) = %q, want %q", tt.roles, got, tt.want)
		}
	}
	set := fixture(t)
	for _, ti := range e.b.ListTools(context.Background(), principal("admin")) {
		if !bytes.Equal(ti.InputSchema, set.Tools[ti.Name].InputSchema) {
			t.Errorf("admin sees %s schema %s, want the manifest's bytes %s", ti.Name, ti.InputSchema, set.Tools[ti.Name].InputSchema)
		}
	}
	for _, ti := range e.b.ListTools(context.Background(), principal("analyst")) {
		if ti.Name == "echo" && !bytes.Contains(ti.InputSchema, []byte(`^hello`)) {
			t.Errorf("analyst's echo schema %s lacks the role's constraint", ti.InputSchema)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	set := fixture(t)
	fake := asWasm{sandboxtest.NewRunner(nil)}
	for _, tt := range []struct {
		name string
		cfg  broker.Config
		want string
	}{
		{"no policy", broker.Config{Runners: []sandbox.Runner{fake}, Audit: &memLog{}}, "Config.Policy"},
		{"no audit", broker.Config{Policy: mustPolicy(t, set), Runners: []sandbox.Runner{fake}}, "Config.Audit"},
		{"no runners", broker.Config{Policy: mustPolicy(t, set), Audit: &memLog{}}, "Config.Runners"},
		{"runtime missing", broker.Config{Policy: mustPolicy(t, set), Audit: &memLog{}, Runners: []sandbox.Runner{sandboxtest.NewRunner(nil)}}, `needs runtime "wasm"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := broker.New(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestToolFailingItsPinIsWithdrawn: one tool whose artifact no longer
// matches its pin is withdrawn (audited, not listed, refused with the
// integrity code) while the others serve.
func TestToolFailingItsPinIsWithdrawn(t *testing.T) {
	failing := sandboxtest.NewRunner(echoRun)
	failing.FailPrepare("echo", &sandbox.Error{Code: sandbox.CodeDigestMismatch, Public: "digest mismatch"})
	log := &memLog{}
	b, err := broker.New(context.Background(), broker.Config{Policy: mustPolicy(t, fixture(t)), Audit: log, Runners: []sandbox.Runner{asWasm{failing}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New with one tool failing its pin = %v, want the broker serving the rest", err)
	}
	defer b.Close(context.Background())
	rec := log.last(t)
	if rec.Event != broker.EventWithdrawn || rec.Tool != "echo" || rec.Reason != sandbox.CodeDigestMismatch {
		t.Errorf("withdrawal record = %+v", rec)
	}
	for _, info := range b.ListTools(context.Background(), principal("admin")) {
		if info.Name == "echo" {
			t.Errorf("a withdrawn tool is listed")
		}
	}
	if _, err := b.CallTool(context.Background(), broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(`{"text":"x"}`)}); codeOf(err) != sandbox.CodeDigestMismatch {
		t.Errorf("call of the withdrawn tool: %v, want %s", err, sandbox.CodeDigestMismatch)
	}
	if _, err := b.CallTool(context.Background(), broker.Call{Principal: principal("admin"), Tool: "limited", Args: json.RawMessage(`{"text":"x"}`)}); err != nil {
		t.Errorf("another tool does not serve: %v", err)
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
