package sandboxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
)

// Fixtures names the artifacts [Conformance] runs, as paths a runner's
// Prepare accepts. Every fixture reads one JSON object on stdin; given
// {"behave": true} the hostile ones reply {"result": "ok"} and exit 0.
type Fixtures struct {
	// Echo is tools/echo: {"text": T} → {"result": {"text": T}}; a missing
	// or non-string text is a tool-reported error.
	Echo string
	// Loop runs forever without calling the host.
	Loop string
	// Membomb allocates memory until the runtime refuses it.
	Membomb string
	// Flood writes to stdout forever, ignoring write errors.
	Flood string
}

// Limits a conformance call gets unless a case tightens one: generous, so
// a slow machine never turns a passing case into a failing one.
var generous = sandbox.Limits{
	Timeout:        2 * time.Minute,
	MemoryBytes:    512 << 20,
	OutputBytes:    1 << 20,
	MaxStderrBytes: 64 << 10,
}

// Conformance runs the checks every [sandbox.Runner] must pass against r:
// an allowed call, a tool-reported error, a digest mismatch, and the
// timeout, memory and output caps, each failure followed by a successful
// call on the same program (the runner recovered and kept no state).
//
// # Notes
//
// Conformance does not close r. Cases run in parallel.
func Conformance(t *testing.T, r sandbox.Runner, fx Fixtures) {
	t.Helper()
	ctx := context.Background()
	echo := prepare(t, r, "echo", fx.Echo)

	t.Run("group", func(t *testing.T) {
		t.Run("allowed", func(t *testing.T) {
			t.Parallel()
			res, err := echo.Run(ctx, invocation(`{"text": "hello, \u4e16\u754c <&>"}`, generous))
			if err != nil {
				t.Fatalf("Run(echo) error = %v, want nil", err)
			}
			assertJSON(t, res.Output, `{"text": "hello, 世界 <&>"}`)
		})
		t.Run("tool_error", func(t *testing.T) {
			t.Parallel()
			_, err := echo.Run(ctx, invocation(`{"text": 5}`, generous))
			assertCode(t, err, sandbox.CodeToolError)
			var e *sandbox.Error
			if errors.As(err, &e) && e.Public == "" {
				t.Errorf("Run(echo, bad args) Public = %q, want the tool's message", e.Public)
			}
		})
		t.Run("digest_mismatch", func(t *testing.T) {
			t.Parallel()
			spec := specFor(t, "echo", fx.Echo)
			wrong := []byte(spec.SHA256)
			if wrong[0] == '0' {
				wrong[0] = '1'
			} else {
				wrong[0] = '0'
			}
			spec.SHA256 = string(wrong)
			prog, err := r.Prepare(ctx, spec)
			if err == nil {
				prog.Close(ctx)
			}
			assertCode(t, err, sandbox.CodeDigestMismatch)
		})
		t.Run("timeout", func(t *testing.T) {
			t.Parallel()
			prog := prepare(t, r, "loop", fx.Loop)
			lim := generous
			lim.Timeout = 200 * time.Millisecond
			_, err := prog.Run(ctx, invocation(`{}`, lim))
			assertCode(t, err, sandbox.CodeTimeout)
			behaves(t, prog)
		})
		t.Run("memory", func(t *testing.T) {
			t.Parallel()
			prog := prepare(t, r, "membomb", fx.Membomb)
			lim := generous
			lim.MemoryBytes = 64 << 20
			res, err := prog.Run(ctx, invocation(`{}`, lim))
			assertCode(t, err, sandbox.CodeMemory)
			if res != nil && res.PeakMemoryBytes > lim.MemoryBytes {
				t.Errorf("Run(membomb) PeakMemoryBytes = %d, want at most the limit %d", res.PeakMemoryBytes, lim.MemoryBytes)
			}
			behaves(t, prog)
		})
		t.Run("output", func(t *testing.T) {
			t.Parallel()
			prog := prepare(t, r, "flood", fx.Flood)
			lim := generous
			lim.OutputBytes = 64 << 10
			res, err := prog.Run(ctx, invocation(`{}`, lim))
			assertCode(t, err, sandbox.CodeOutputTooLarge)
			var ole *sandbox.OutputLimitError
			if !errors.As(err, &ole) || ole.Limit != lim.OutputBytes {
				t.Errorf("Run(flood) error = %v, want it to wrap *sandbox.OutputLimitError{Limit: %d}", err, lim.OutputBytes)
			}
			if res != nil && len(res.Output) != 0 {
				t.Errorf("Run(flood) Output has %d bytes, want none", len(res.Output))
			}
			behaves(t, prog)
		})
	})
}

// behaves checks that a fixture program still answers a normal call.
func behaves(t *testing.T, prog sandbox.Program) {
	t.Helper()
	res, err := prog.Run(context.Background(), invocation(`{"behave": true}`, generous))
	if err != nil {
		t.Fatalf("next Run({behave: true}) error = %v, want nil", err)
	}
	assertJSON(t, res.Output, `"ok"`)
}

// specFor pins path by its current digest.
func specFor(t testing.TB, tool, path string) sandbox.Spec {
	t.Helper()
	if path == "" {
		t.Fatalf("Fixtures has no path for %s", tool)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read fixture %s: %v", tool, err)
	}
	sum := sha256.Sum256(data)
	return sandbox.Spec{Tool: tool, Path: path, SHA256: hex.EncodeToString(sum[:])}
}

// prepare prepares a fixture and closes it when the test ends.
func prepare(t testing.TB, r sandbox.Runner, tool, path string) sandbox.Program {
	t.Helper()
	prog, err := r.Prepare(context.Background(), specFor(t, tool, path))
	if err != nil {
		t.Fatalf("Prepare(%s) error = %v", tool, err)
	}
	t.Cleanup(func() {
		if err := prog.Close(context.Background()); err != nil {
			t.Errorf("Close(%s) error = %v", tool, err)
		}
	})
	return prog
}

func invocation(args string, lim sandbox.Limits) sandbox.Invocation {
	return sandbox.Invocation{Args: []byte(args), Limits: lim}
}

// assertCode checks the reason code a consumer would read: the first error
// in the chain with a ReasonCode method.
func assertCode(t testing.TB, err error, want string) {
	t.Helper()
	type coded interface {
		error
		ReasonCode() string
	}
	c, ok := errors.AsType[coded](err)
	switch {
	case err == nil:
		t.Errorf("error = nil, want code %q", want)
	case !ok:
		t.Errorf("error = %v (no reason code), want code %q", err, want)
	case c.ReasonCode() != want:
		t.Errorf("error code = %q (%v), want %q", c.ReasonCode(), err, want)
	}
}

// assertJSON compares JSON values, ignoring formatting.
func assertJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("output = %s, want %s", bytes.TrimSpace(got), want)
	}
}
