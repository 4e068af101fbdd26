package plugin

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
)

// pool holds the processes of one (tool, tenant, settings) key. A process
// is busy (held by one call, with a slot) or idle; a pool never has more
// than MaxProcs processes busy or starting.
type pool struct {
	prog     *Program
	key      string
	settings procSettings
	slots    chan struct{} // one token per busy or starting process

	active int // calls using the pool; guarded by prog.mu

	mu       sync.Mutex // guards following
	idle     []*proc
	live     int // processes alive or starting
	due      int // live processes near MaxCallsPerProc, replaced ahead
	lastUsed time.Time
	drained  bool
}

func newPool(p *Program, key string, s procSettings) *pool {
	return &pool{prog: p, key: key, settings: s, slots: make(chan struct{}, p.runner.cfg.MaxProcs), lastUsed: time.Now()}
}

// get returns a process for one call that must end by deadline (its
// time limit is timeout): an idle one that is still alive, or a new one.
// It waits for a slot while MaxProcs calls are in flight, and fails with
// sandbox.timeout if the deadline passes while it waits or starts one.
func (pl *pool) get(ctx context.Context, deadline time.Time, timeout time.Duration) (*proc, error) {
	select {
	case pl.slots <- struct{}{}:
	default:
		// Every process is busy: wait, but not past the call's deadline.
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case pl.slots <- struct{}{}:
		case <-t.C:
			return nil, &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool's time limit passed while the call waited for a free process"}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-pl.prog.closing.Done():
			return nil, pl.prog.closedError()
		}
	}
	for {
		pl.mu.Lock()
		pl.lastUsed = time.Now()
		n := len(pl.idle)
		if n == 0 {
			pl.live++
			pl.mu.Unlock()
			break
		}
		pr := pl.idle[n-1]
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		switch ok, retire := pl.usable(pr, timeout); {
		case ok:
			return pr, nil
		case retire:
			pl.discard(pr, pl.prog.runner.cfg.GracePeriod)
		default:
			pl.discard(pr, 0)
		}
	}
	sctx, cancel := context.WithDeadline(ctx, deadline)
	pr, err := startProc(sctx, pl.prog, pl.settings)
	cancel()
	if err != nil {
		pl.mu.Lock()
		pl.live--
		pl.mu.Unlock()
		<-pl.slots
		if ctx.Err() == nil && !time.Now().Before(deadline) {
			return nil, &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool's time limit passed while its process started", Err: err}
		}
		return nil, err
	}
	pl.prog.runner.logger.Debug("started plugin process", "tool", pl.prog.tool, "pid", pr.run.Load().pid(), "uid", pr.uid)
	pl.topUp()
	return pr, nil
}

// replaceAhead is how many calls before its MaxCallsPerProc a process's
// replacement starts in the background, so that no call waits for a cold
// start when a process retires: a fifth of a process's life, which at
// warm-call speed is far longer than a start.
func replaceAhead(maxCalls int) int { return max(1, maxCalls/5) }

// put returns a process after a call. A process that failed its call, hit
// MaxCallsPerProc, or outlived its program is stopped; a replacement is
// started in the background if the pool is below MinProcs. A process
// nearing MaxCallsPerProc stops counting toward MinProcs, so its
// replacement is warm before it retires (within MaxProcs).
func (pl *pool) put(pr *proc, keep bool) {
	pr.calls++
	pr.lastUsed = time.Now()
	cfg := pl.prog.runner.cfg
	if keep && pr.calls < cfg.MaxCallsPerProc && !pl.prog.isClosing() {
		cpu, err := pr.cpuTime()
		keep = err == nil
		pr.cpuAtPut = cpu
	}
	if keep && pr.calls < cfg.MaxCallsPerProc && !pl.prog.isClosing() {
		pl.mu.Lock()
		if !pl.drained {
			pl.idle = append(pl.idle, pr)
			due := !pr.due && pr.calls >= cfg.MaxCallsPerProc-replaceAhead(cfg.MaxCallsPerProc)
			if due {
				pr.due = true
				pl.due++
			}
			pl.mu.Unlock()
			<-pl.slots
			if due {
				pl.topUp()
			}
			return
		}
		pl.mu.Unlock()
	}
	grace := cfg.GracePeriod
	if !keep {
		grace = 0 // a failed call's process gets no grace
	}
	pl.discard(pr, grace)
	<-pl.slots
	pl.topUp()
}

// usable reports whether an idle process may serve a call with timeout:
// it is alive, used no more than IdleCPU since its last call (nothing left
// running) and has at least timeout of its CPUTimePerProc left. retire
// reports a healthy process that is only out of CPU budget.
func (pl *pool) usable(pr *proc, timeout time.Duration) (ok, retire bool) {
	cfg := pl.prog.runner.cfg
	if !pr.alive() {
		return false, false
	}
	// A process cannot use more CPU time than MaxThreads threads running
	// for as long as it has been idle: a process put back a moment ago is
	// judged on that bound, without reading its CPU clock.
	if idle := time.Since(pr.lastUsed); idle >= 0 && idle < cfg.IdleCPU/time.Duration(cfg.MaxThreads) {
		if bound := pr.cpuAtPut + idle*time.Duration(cfg.MaxThreads); bound+timeout <= cfg.CPUTimePerProc {
			return true, false
		}
	}
	cpu, err := pr.cpuTime()
	if err != nil || cpu-pr.cpuAtPut > cfg.IdleCPU {
		return false, false
	}
	if cpu+timeout > cfg.CPUTimePerProc {
		return false, true
	}
	return true, false
}

// discard stops a process that is neither idle nor busy any more.
func (pl *pool) discard(pr *proc, grace time.Duration) {
	pl.mu.Lock()
	pl.live--
	if pr.due {
		pl.due--
	}
	pl.mu.Unlock()
	if grace == 0 {
		pr.kill()
	}
	pl.prog.stop(pr, grace)
}

// topUp starts processes in the background until the pool has MinProcs
// not due for retirement, if it was used within IdleTimeout, and never
// past MaxProcs.
func (pl *pool) topUp() {
	cfg := pl.prog.runner.cfg
	for {
		pl.mu.Lock()
		if pl.drained || pl.live-pl.due >= cfg.MinProcs || pl.live >= cfg.MaxProcs ||
			time.Since(pl.lastUsed) > cfg.IdleTimeout || pl.prog.isClosing() {
			pl.mu.Unlock()
			return
		}
		select {
		case pl.slots <- struct{}{}:
		default:
			pl.mu.Unlock()
			return
		}
		pl.live++
		pl.mu.Unlock()
		pl.prog.bg.Go(func() {
			ctx, cancel := context.WithTimeout(pl.prog.closing, cfg.StartTimeout)
			defer cancel()
			pr, err := startProc(ctx, pl.prog, pl.settings)
			if err != nil {
				pl.mu.Lock()
				pl.live--
				pl.mu.Unlock()
				<-pl.slots
				pl.prog.runner.logger.Warn("plugin warm start failed", "tool", pl.prog.tool, "error", err)
				return
			}
			pr.lastUsed = time.Now()
			pr.cpuAtPut, _ = pr.cpuTime()
			pl.mu.Lock()
			if pl.drained {
				pl.mu.Unlock()
				pl.discard(pr, 0)
				<-pl.slots
				return
			}
			// At the bottom of the idle stack: processes that have served
			// calls (one due for retirement above all) are used up first.
			pl.idle = slices.Insert(pl.idle, 0, pr)
			pl.mu.Unlock()
			<-pl.slots
		})
	}
}

// check pings idle processes, stops dead ones and ones idle past
// IdleTimeout, tops the pool up, and reports whether the pool is unused.
func (pl *pool) check() bool {
	cfg := pl.prog.runner.cfg
	pl.mu.Lock()
	idle := pl.idle
	pl.idle = nil
	pl.mu.Unlock()
	var keep []*proc
	for _, pr := range idle {
		switch {
		case time.Since(pr.lastUsed) > cfg.IdleTimeout:
			pl.discard(pr, cfg.GracePeriod)
		case !pr.ping():
			pl.discard(pr, 0)
		case func() bool { ok, retire := pl.usable(pr, 0); return !ok && !retire }():
			pl.discard(pr, 0)
		default:
			keep = append(keep, pr)
		}
	}
	pl.mu.Lock()
	if pl.drained {
		pl.mu.Unlock()
		for _, pr := range keep {
			pl.discard(pr, cfg.GracePeriod)
		}
		return false
	}
	pl.idle = append(keep, pl.idle...)
	pl.mu.Unlock()
	pl.topUp()
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.live == 0 && time.Since(pl.lastUsed) > cfg.IdleTimeout
}

// empty reports whether the pool has no process (under the program lock).
func (pl *pool) empty() bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.live == 0
}

// drain stops every idle process; busy ones are stopped by put.
func (pl *pool) drain() {
	pl.mu.Lock()
	pl.drained = true
	idle := slices.Clone(pl.idle)
	pl.idle = nil
	pl.mu.Unlock()
	for _, pr := range idle {
		pl.discard(pr, pl.prog.runner.cfg.GracePeriod)
	}
}
