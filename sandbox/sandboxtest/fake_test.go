package sandboxtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

var lim = sandbox.Limits{Timeout: time.Second, MemoryBytes: 1 << 20, OutputBytes: 1 << 10, MaxStderrBytes: 1 << 10}

func TestFakeRunner(t *testing.T) {
	ctx := context.Background()
	r := sandboxtest.NewRunner(func(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		spec, _ := sandboxtest.SpecFromContext(ctx)
		if spec.Tool == "broken" {
			return nil, &sandbox.Error{Code: sandbox.CodeTrap, Public: "boom"}
		}
		inv.Args[0] = 'X' // the fake gives each call its own copy
		return &sandbox.Result{Output: []byte(`"` + spec.Tool + `"`)}, nil
	})
	if r.Kind() != "fake" {
		t.Errorf("Kind() = %q, want \"fake\"", r.Kind())
	}
	r.FailPrepare("pinned-wrong", &sandbox.Error{Code: sandbox.CodeDigestMismatch, Public: "mismatch"})

	echo, err := r.Prepare(ctx, sandbox.Spec{Tool: "echo", Path: "/nowhere/echo.wasm", SHA256: "ab"})
	if err != nil {
		t.Fatalf("Prepare(echo) error = %v", err)
	}
	broken, err := r.Prepare(ctx, sandbox.Spec{Tool: "broken", SHA256: "ab"})
	if err != nil {
		t.Fatalf("Prepare(broken) error = %v", err)
	}
	if _, err := r.Prepare(ctx, sandbox.Spec{Tool: "pinned-wrong", SHA256: "ab"}); codeOf(err) != sandbox.CodeDigestMismatch {
		t.Errorf("Prepare(pinned-wrong) error = %v, want code %q", err, sandbox.CodeDigestMismatch)
	}
	if _, err := r.Prepare(ctx, sandbox.Spec{Tool: "unpinned"}); codeOf(err) != sandbox.CodeLoad {
		t.Errorf("Prepare(unpinned) error = %v, want code %q", err, sandbox.CodeLoad)
	}

	args := []byte(`{"text":"hi"}`)
	res, err := echo.Run(ctx, sandbox.Invocation{Args: args, Limits: lim, Env: map[string]string{"K": "v"}})
	if err != nil || string(res.Output) != `"echo"` {
		t.Errorf("Run(echo) = %v, %v; want \"echo\"", res, err)
	}
	if string(args) != `{"text":"hi"}` {
		t.Errorf("caller's Args changed to %s", args)
	}
	if _, err := broken.Run(ctx, sandbox.Invocation{Args: args, Limits: lim}); codeOf(err) != sandbox.CodeTrap {
		t.Errorf("Run(broken) error = %v, want code %q", err, sandbox.CodeTrap)
	}
	if _, err := echo.Run(ctx, sandbox.Invocation{Args: args}); err == nil {
		t.Errorf("Run with zero limits: error = nil, want one")
	}

	calls := r.Calls()
	if len(calls) != 2 || calls[0].Spec.Tool != "echo" || string(calls[0].Invocation.Args) != `{"text":"hi"}` || calls[0].Invocation.Env["K"] != "v" {
		t.Errorf("Calls() = %+v, want echo then broken with the original args", calls)
	}
	if got := len(r.Prepared()); got != 4 {
		t.Errorf("len(Prepared()) = %d, want 4", got)
	}

	if err := echo.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := echo.Close(ctx); err != nil {
		t.Errorf("second Close error = %v", err)
	}
	if _, err := echo.Run(ctx, sandbox.Invocation{Args: args, Limits: lim}); codeOf(err) != sandbox.CodeClosed {
		t.Errorf("Run after Close error = %v, want code %q", err, sandbox.CodeClosed)
	}
}

func TestFakeRunnerDefault(t *testing.T) {
	p, err := sandboxtest.NewRunner(nil).Prepare(context.Background(), sandbox.Spec{Tool: "t", SHA256: "ab"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(context.Background(), sandbox.Invocation{Args: []byte(`{}`), Limits: lim})
	if err != nil || string(res.Output) != "null" {
		t.Errorf("Run = %v, %v; want null", res, err)
	}
}

func codeOf(err error) string {
	type coded interface {
		error
		ReasonCode() string
	}
	var c coded
	if errors.As(err, &c) {
		return c.ReasonCode()
	}
	return ""
}
