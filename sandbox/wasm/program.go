package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// Causes of a call's cancellation, so the outcome is read from what the
// runner did rather than from exit codes a guest could forge.
var (
	errTimedOut     = errors.New("wasm: call reached its time limit")
	errOutputFull   = errors.New("wasm: call passed its output limit")
	errProgramClose = errors.New("wasm: program closed during the call")
)

// Program is a compiled module. Each Run instantiates it afresh.
//
// # Notes
//
// A Program is safe for concurrent use. Close cancels calls in flight,
// waits for them and releases the compiled code; Run after Close fails with
// [sandbox.CodeClosed].
type Program struct {
	runner   *Runner
	tool     string
	compiled wazero.CompiledModule
	layout   moduleLayout
	base     wazero.ModuleConfig
	closing  context.Context // done when Close starts
	cancel   context.CancelFunc

	mu     sync.Mutex // guards following
	closed bool
	calls  sync.WaitGroup
}

var _ sandbox.Program = (*Program)(nil)

func newProgram(r *Runner, tool string, compiled wazero.CompiledModule, layout moduleLayout) *Program {
	closing, cancel := context.WithCancel(context.Background())
	base := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances at once
		WithStartFunctions("_start").
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	return &Program{runner: r, tool: tool, compiled: compiled, layout: layout, base: base, closing: closing, cancel: cancel}
}

// Run instantiates the module afresh and runs its _start with inv.Args on
// stdin, under inv.Limits.
//
// The guest sees: the argument bytes on stdin, exactly as given; no
// command-line arguments; inv.Env as its whole environment; inv.Mounts,
// read-only, as its only files (pre-opened directories fd 3, 4, ... in
// order); toolwarden.http_request_v1 under inv.Egress as its only network;
// real wall and monotonic clocks; sleeps that end with the call;
// crypto/rand as its random source. Its stdout is kept up to
// Limits.OutputBytes (one more byte fails the call), its stderr up to
// Limits.MaxStderrBytes (the rest is dropped), its linear memory is capped
// at Limits.MemoryBytes rounded down to whole 64 KiB pages, and the call is
// cancelled at Limits.Timeout or when ctx is done.
//
// On failure Run returns a [*sandbox.Error] with code, in order of
// precedence: [sandbox.CodeOutputTooLarge] (wrapping a
// [*sandbox.OutputLimitError]), [sandbox.CodeTimeout],
// [sandbox.CodeMemory] (growth refused at the cap, or a module whose
// initial memory exceeds it), [sandbox.CodeTrap], [sandbox.CodeExit],
// [sandbox.CodeBadOutput] or [sandbox.CodeToolError] (Public is the tool's
// message, sanitized). A call cancelled through ctx before its deadline
// returns ctx's error, uncoded. Once the module ran, the [*sandbox.Result]
// is returned with the error too, carrying stderr, duration and peak memory.
//
// Result.Egress lists, in order, every request the guest made through the
// host module (allowed or refused, with address and bytes) and every file
// access a mount refused (Host [FileHost], Path, Reason one of the CodeFS
// codes). A refused request or file access does not fail the call by
// itself: the guest gets the refusal (an error reply, EPERM or EROFS) and
// decides; a tool that gives up reports it as a tool error.
//
// An Invocation whose Egress patterns do not parse, or whose Mounts are
// not absolute host directories at distinct absolute guest paths, is
// refused with an uncoded error before anything runs.
func (p *Program) Run(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
	if err := inv.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("wasm: run %s: %w", p.tool, err)
	}
	allow, err := egress.ParseAllowlist(inv.Egress)
	if err != nil {
		return nil, fmt.Errorf("wasm: run %s: Invocation.Egress: %w", p.tool, err)
	}
	for k, v := range inv.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("wasm: run %s: Invocation.Env has an invalid entry %q", p.tool, k)
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, p.closedError()
	}
	p.calls.Add(1)
	p.mu.Unlock()
	defer p.calls.Done()

	limitPages := min(inv.Limits.MemoryBytes/pageBytes, maxPages)
	if int64(p.layout.minPages) > limitPages {
		return &sandbox.Result{}, &sandbox.Error{
			Code:   sandbox.CodeMemory,
			Public: fmt.Sprintf("the tool needs %d bytes of memory to start, more than its limit of %d", int64(p.layout.minPages)*pageBytes, inv.Limits.MemoryBytes),
		}
	}

	mounts, err := openMounts(inv.Mounts)
	if err != nil {
		return nil, fmt.Errorf("wasm: run %s: %w", p.tool, err)
	}
	defer closeMounts(mounts)
	st := &callState{base: p.runner.egress}
	st.base.Allow = allow
	for _, m := range mounts {
		st.mounts = append(st.mounts, m.guest)
	}

	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	callCtx, cancelTimeout := context.WithTimeoutCause(callCtx, inv.Limits.Timeout, errTimedOut)
	defer cancelTimeout()
	stopOnClose := context.AfterFunc(p.closing, func() { cancel(errProgramClose) })
	defer stopOnClose()

	stdout := &stdoutWriter{limit: inv.Limits.OutputBytes, stop: func() { cancel(errOutputFull) }}
	stderr := &stderrWriter{limit: inv.Limits.MaxStderrBytes}
	mem := &limitedMemory{limit: uint64(limitPages) * pageBytes}
	cfg := p.base.
		WithStdin(bytes.NewReader(inv.Args)).
		WithStdout(stdout).
		WithStderr(stderr).
		WithNanosleep(sleepUntilDone(callCtx))
	for _, k := range slices.Sorted(maps.Keys(inv.Env)) {
		cfg = cfg.WithEnv(k, inv.Env[k])
	}
	if len(mounts) > 0 {
		cfg = cfg.WithFSConfig(fsConfig(st, mounts))
	}

	began := time.Now()
	mod, err := p.instantiate(experimental.WithMemoryAllocator(withState(callCtx, st), mem), cfg)
	if mod != nil {
		_ = mod.Close(context.Background()) // no-op when _start exited
	}
	res := &sandbox.Result{
		Stderr:          stderr.buf.Bytes(),
		StderrTruncated: stderr.truncated,
		Duration:        time.Since(began),
		PeakMemoryBytes: int64(mem.peak.Load()),
		Egress:          st.result(),
	}
	if err := p.outcome(ctx, callCtx, res, stdout, mem, mod, err); err != nil {
		p.runner.logger.Debug("wasm call failed", "tool", p.tool, "error", err, "duration", res.Duration)
		return res, err
	}
	return res, nil
}

// instantiate runs the module. A panic inside wazero (which a failing
// memory allocation at instantiation would cause) becomes an error instead
// of taking the broker down.
func (p *Program) instantiate(ctx context.Context, cfg wazero.ModuleConfig) (mod api.Module, err error) {
	defer func() {
		if v := recover(); v != nil {
			mod, err = nil, fmt.Errorf("wazero panicked: %v", v)
		}
	}()
	return p.runner.rt.InstantiateModule(ctx, p.compiled, cfg)
}

// outcome turns what happened during a call into nil (res.Output set) or a
// coded error.
func (p *Program) outcome(ctx, callCtx context.Context, res *sandbox.Result, stdout *stdoutWriter, mem *limitedMemory, mod api.Module, err error) error {
	if stdout.exceeded {
		return &sandbox.Error{
			Code:   sandbox.CodeOutputTooLarge,
			Public: fmt.Sprintf("the tool wrote more than %d bytes of output", stdout.limit),
			Err:    &sandbox.OutputLimitError{Limit: stdout.limit},
		}
	}
	if err != nil && callCtx.Err() != nil {
		cause := context.Cause(callCtx)
		switch {
		case errors.Is(cause, errProgramClose):
			return p.closedError()
		case errors.Is(cause, errTimedOut) || errors.Is(cause, context.DeadlineExceeded):
			return &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool ran past its time limit", Err: err}
		default:
			return fmt.Errorf("wasm: run %s: %w", p.tool, errors.Join(ctx.Err(), err))
		}
	}
	if err != nil && mem.refused.Load() {
		return &sandbox.Error{
			Code:   sandbox.CodeMemory,
			Public: fmt.Sprintf("the tool needed more than its memory limit of %d bytes", mem.limit),
			Err:    err,
		}
	}
	if err != nil {
		var exit *sys.ExitError
		switch {
		case errors.As(err, &exit):
			return &sandbox.Error{Code: sandbox.CodeExit, Public: fmt.Sprintf("the tool exited with status %d", exit.ExitCode()), Err: err}
		case mod == nil:
			return &sandbox.Error{Code: sandbox.CodeTrap, Public: "the tool failed to instantiate", Err: err}
		default:
			return &sandbox.Error{Code: sandbox.CodeTrap, Public: "the tool trapped: " + trapKind(err), Err: err}
		}
	}
	env, perr := abi.ParseEnvelope(stdout.buf.Bytes())
	if perr != nil {
		return &sandbox.Error{Code: sandbox.CodeBadOutput, Public: "the tool's output is not one {\"result\"} or {\"error\"} object", Err: perr}
	}
	if env.IsError {
		return &sandbox.Error{Code: sandbox.CodeToolError, Public: abi.PublicMessage(env.Error)}
	}
	res.Output = env.Result
	return nil
}

// trapKind extracts wazero's runtime error ("unreachable", "out of bounds
// memory access", …) from a trap: it is produced by wazero, not the guest.
func trapKind(err error) string {
	const marker = "wasm error: "
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return "runtime error"
	}
	kind, _, _ := strings.Cut(msg[i+len(marker):], "\n")
	if len(kind) > 128 {
		kind = strings.ToValidUTF8(kind[:128], "")
	}
	return kind
}

// sleepUntilDone is the guest's sleep (WASI poll_oneoff on a clock): a real
// sleep, so a waiting tool does not spin, that ends when the call does, so
// it never outlives the call's deadline.
func sleepUntilDone(ctx context.Context) func(ns int64) {
	return func(ns int64) {
		if ns <= 0 {
			return
		}
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

func (p *Program) closedError() error {
	return &sandbox.Error{Code: sandbox.CodeClosed, Public: fmt.Sprintf("tool %q is no longer loaded", p.tool)}
}

// Close cancels the Program's calls in flight, waits for them to return and
// releases the compiled module. Calling it twice is safe.
func (p *Program) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.calls.Wait()
	p.runner.forget(p)
	if err := p.compiled.Close(ctx); err != nil {
		return fmt.Errorf("wasm: close %s: %w", p.tool, err)
	}
	return nil
}
