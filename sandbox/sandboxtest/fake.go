package sandboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/toolwarden/toolwarden/sandbox"
)

// RunFunc answers one call of a fake program. The [sandbox.Spec] the
// program was prepared from is available through [SpecFromContext].
type RunFunc func(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error)

// Runner is a fake [sandbox.Runner] of kind "fake": Prepare never touches
// the filesystem and every call of every program it prepares is answered by
// one [RunFunc]. It records what it was asked to do.
//
// # Notes
//
// A Runner is safe for concurrent use. Its programs behave like real ones
// where the broker can tell: Run validates the limits, fails with
// [sandbox.CodeClosed] after Close, and gives the RunFunc its own copy of
// the invocation.
type Runner struct {
	run RunFunc

	mu       sync.Mutex // guards following
	prepared []sandbox.Spec
	calls    []Call
	failing  map[string]error
}

var _ sandbox.Runner = (*Runner)(nil)

// Call is one recorded call of a fake program.
type Call struct {
	Spec       sandbox.Spec
	Invocation sandbox.Invocation
}

// NewRunner returns a fake runner whose programs answer with run. A nil
// run makes every call return {"result": null}.
func NewRunner(run RunFunc) *Runner {
	if run == nil {
		run = func(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
			return &sandbox.Result{Output: []byte("null")}, nil
		}
	}
	return &Runner{run: run, failing: map[string]error{}}
}

// Kind returns "fake".
func (r *Runner) Kind() string { return "fake" }

// FailPrepare makes Prepare of the tool named tool return err, e.g. a
// [*sandbox.Error] with [sandbox.CodeDigestMismatch].
func (r *Runner) FailPrepare(tool string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing[tool] = err
}

// Prepare records spec and returns a fake program. It fails when spec has
// no SHA256 (every artifact is pinned) or when FailPrepare named the tool.
func (r *Runner) Prepare(_ context.Context, spec sandbox.Spec) (sandbox.Program, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prepared = append(r.prepared, spec)
	if err := r.failing[spec.Tool]; err != nil {
		return nil, err
	}
	if spec.SHA256 == "" {
		return nil, &sandbox.Error{Code: sandbox.CodeLoad, Public: fmt.Sprintf("tool %q has no sha256 pin", spec.Tool)}
	}
	return &program{runner: r, spec: spec}, nil
}

// Prepared returns the specs Prepare was called with, in order.
func (r *Runner) Prepared() []sandbox.Spec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.prepared)
}

// Calls returns the calls made so far, in the order they started.
func (r *Runner) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

type specKey struct{}

// SpecFromContext returns the spec of the fake program running the call
// whose context is ctx.
func SpecFromContext(ctx context.Context) (sandbox.Spec, bool) {
	s, ok := ctx.Value(specKey{}).(sandbox.Spec)
	return s, ok
}

// program is a fake prepared program.
type program struct {
	runner *Runner
	spec   sandbox.Spec

	mu     sync.Mutex // guards following
	closed bool
}

func (p *program) Run(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
	if err := inv.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("fake: run %s: %w", p.spec.Tool, err)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, &sandbox.Error{Code: sandbox.CodeClosed, Public: fmt.Sprintf("tool %q is no longer loaded", p.spec.Tool)}
	}
	inv = cloneInvocation(inv)
	p.runner.mu.Lock()
	p.runner.calls = append(p.runner.calls, Call{Spec: p.spec, Invocation: cloneInvocation(inv)})
	p.runner.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, errors.Join(errors.New("fake: run "+p.spec.Tool), err)
	}
	return p.runner.run(context.WithValue(ctx, specKey{}, p.spec), inv)
}

func (p *program) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// cloneInvocation copies every slice and map of inv.
func cloneInvocation(inv sandbox.Invocation) sandbox.Invocation {
	inv.Args = bytes.Clone(inv.Args)
	inv.Egress = slices.Clone(inv.Egress)
	inv.Env = maps.Clone(inv.Env)
	inv.Mounts = slices.Clone(inv.Mounts)
	return inv
}
