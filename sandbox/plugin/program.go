package plugin

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/confine"
)

// Program is a verified plugin binary and its pools of warm processes,
// one pool per (tenant, environment, mounts, memory limit).
//
// # Notes
//
// A Program is safe for concurrent use. A process serves one call at a
// time and one tenant only. Close cancels calls in flight, stops every
// process and releases the binary; Run after Close fails with
// [sandbox.CodeClosed].
type Program struct {
	runner  *Runner
	tool    string
	bin     *verifiedBinary
	closing context.Context // done when Close starts
	cancel  context.CancelFunc
	bg      sync.WaitGroup // maintenance and process stops

	mu     sync.Mutex // guards following
	closed bool
	calls  sync.WaitGroup
	pools  map[string]*pool
}

var _ sandbox.Program = (*Program)(nil)

func newProgram(r *Runner, tool string, bin *verifiedBinary) *Program {
	closing, cancel := context.WithCancel(context.Background())
	p := &Program{runner: r, tool: tool, bin: bin, closing: closing, cancel: cancel, pools: map[string]*pool{}}
	p.bg.Go(p.maintain)
	return p
}

// reservedEnv are environment prefixes the runner sets itself.
var reservedEnv = []string{"PLUGIN_", "TOOLWARDEN_"}

// Run calls the plugin with inv.Args on a warm process of inv.Tenant's
// pool, starting one if none is free.
//
// The plugin sees: the argument bytes exactly as given; inv.Env as its
// whole environment (plus go-plugin's handshake variables and the egress
// socket path); inv.Mounts read-only; a private /tmp; no network but the
// egress proxy, which grants exactly inv.Egress; stdin from /dev/null.
//
// On failure Run returns a [*sandbox.Error] with code
// [sandbox.CodeTimeout] (wall clock past Limits.Timeout, counted from the
// start of Run, so waiting for a free process and starting one count too;
// or CPU time past it), [sandbox.CodeMemory] (the process ran out of Limits.MemoryBytes),
// [sandbox.CodeOutputTooLarge] (a reply past Limits.OutputBytes, wrapping
// a [*sandbox.OutputLimitError]), [sandbox.CodeCrashed] (the process died
// during the call), [sandbox.CodeBadOutput], [sandbox.CodeToolError],
// [sandbox.CodeDigestMismatch] (the binary changed on disk since Prepare
// and a new process was needed), [sandbox.CodeLoad] (a process could not
// start) or [sandbox.CodeClosed]. A failed call's process is discarded;
// the next call gets a fresh one. A call cancelled through ctx returns
// ctx's error, uncoded. Result.PeakMemoryBytes is always 0 (unknown).
func (p *Program) Run(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
	deadline := time.Now().Add(inv.Limits.Timeout)
	if err := inv.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("plugin: run %s: %w", p.tool, err)
	}
	s, key, err := p.settingsOf(inv)
	if err != nil {
		return nil, fmt.Errorf("plugin: run %s: %w", p.tool, err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, p.closedError()
	}
	p.calls.Add(1)
	pl := p.pools[key]
	if pl == nil {
		pl = newPool(p, key, s)
		p.pools[key] = pl
	}
	pl.active++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		pl.active--
		p.mu.Unlock()
		p.calls.Done()
	}()

	pr, err := pl.get(ctx, deadline, inv.Limits.Timeout)
	if err != nil {
		return nil, err
	}
	// The time limit covers the whole call: what waiting and starting
	// used is not given to the tool again.
	if inv.Limits.Timeout = time.Until(deadline); inv.Limits.Timeout <= 0 {
		pl.put(pr, true)
		return nil, &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool's time limit passed before the call began"}
	}
	res, err, keep := pr.invoke(ctx, inv)
	pl.put(pr, keep)
	if err != nil {
		p.runner.logger.Debug("plugin call failed", "tool", p.tool, "error", err)
	}
	return res, err
}

// settingsOf checks inv's environment and mounts and returns the launch
// settings and pool key they make.
func (p *Program) settingsOf(inv sandbox.Invocation) (procSettings, string, error) {
	s := procSettings{tenant: inv.Tenant, memoryBytes: inv.Limits.MemoryBytes}
	for _, k := range slices.Sorted(maps.Keys(inv.Env)) {
		v := inv.Env[k]
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return s, "", fmt.Errorf("Invocation.Env has an invalid entry %q", k)
		}
		for _, r := range reservedEnv {
			if strings.HasPrefix(k, r) {
				return s, "", fmt.Errorf("Invocation.Env entry %q uses the reserved prefix %s", k, r)
			}
		}
		s.env = append(s.env, k+"="+v)
	}
	for _, m := range inv.Mounts {
		if !filepath.IsAbs(m.Host) || !filepath.IsAbs(m.Guest) || filepath.Clean(m.Host) != m.Host || filepath.Clean(m.Guest) != m.Guest {
			return s, "", fmt.Errorf("Invocation.Mounts entry %q → %q is not a pair of clean absolute paths", m.Host, m.Guest)
		}
		if m.Guest == "/" || m.Guest == "/tmp" || strings.HasPrefix(m.Guest, "/tmp/") || m.Guest == "/dev" || strings.HasPrefix(m.Guest, "/dev/") ||
			m.Guest == confine.SocketDir || strings.HasPrefix(m.Guest, confine.SocketDir+"/") {
			return s, "", fmt.Errorf("Invocation.Mounts guest path %q is reserved", m.Guest)
		}
		s.mounts = append(s.mounts, confine.Mount{Host: m.Host, Guest: m.Guest})
	}
	// The key: length-prefixed fields, so no two settings collide.
	key := make([]byte, 0, 64)
	field := func(b string) {
		key = binary.BigEndian.AppendUint64(key, uint64(len(b)))
		key = append(key, b...)
	}
	field(s.tenant)
	key = binary.BigEndian.AppendUint64(key, uint64(s.memoryBytes))
	for _, e := range s.env {
		field(e)
	}
	key = binary.BigEndian.AppendUint64(key, math.MaxUint64) // end of env
	for _, m := range s.mounts {
		field(m.Host)
		field(m.Guest)
	}
	return s, string(key), nil
}

func (p *Program) isClosing() bool { return p.closing.Err() != nil }

func (p *Program) closedError() error {
	return &sandbox.Error{Code: sandbox.CodeClosed, Public: fmt.Sprintf("tool %q is no longer loaded", p.tool)}
}

// stop stops a process in the background, tracked by Close.
func (p *Program) stop(pr *proc, grace time.Duration) {
	p.bg.Go(func() { pr.close(grace) })
}

// maintain health-checks idle processes, stops idle and dead ones, and
// keeps active pools at MinProcs, every HealthInterval until Close.
func (p *Program) maintain() {
	t := time.NewTicker(p.runner.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-p.closing.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		pools := slices.Collect(maps.Values(p.pools))
		p.mu.Unlock()
		for _, pl := range pools {
			if pl.check() {
				p.mu.Lock()
				if pl.active == 0 && pl.empty() {
					delete(p.pools, pl.key)
				}
				p.mu.Unlock()
			}
		}
	}
}

// Close cancels calls in flight, waits for them, stops every process
// (graceful shutdown, then SIGKILL after Config.GracePeriod), removes their
// sockets and directories and releases the binary. Calling it twice is
// safe.
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
	p.mu.Lock()
	pools := slices.Collect(maps.Values(p.pools))
	p.pools = map[string]*pool{}
	p.mu.Unlock()
	for _, pl := range pools {
		pl.drain()
	}
	p.bg.Wait()
	p.runner.forget(p)
	if err := p.bin.close(); err != nil {
		return fmt.Errorf("plugin: close %s: %w", p.tool, err)
	}
	return nil
}
