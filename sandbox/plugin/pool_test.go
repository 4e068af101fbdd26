package plugin

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
)

func TestPoolReplacesProcesses(t *testing.T) {
	r := newRunner(t, Config{MinProcs: 1, MaxProcs: 2, MaxCallsPerProc: 3})
	prog := prepareFixture(t, r, "hostile")

	t.Run("crash fails the call and the next call gets a fresh process", func(t *testing.T) {
		before := identity(t, prog, "c")
		_, err := call(t, prog, "c", map[string]any{"attack": "crash"}, testLimits)
		if got := reasonCode(err); got != sandbox.CodeCrashed {
			t.Fatalf("Run(crash) code = %q (%v), want %q", got, err, sandbox.CodeCrashed)
		}
		if after := identity(t, prog, "c"); after.UID == before.UID {
			t.Errorf("call after a crash served by uid %d again, want a fresh process", after.UID)
		}
	})
	t.Run("a process is retired after MaxCallsPerProc calls", func(t *testing.T) {
		first := identity(t, prog, "n")
		identity(t, prog, "n")
		identity(t, prog, "n") // third call: retired afterwards
		if next := identity(t, prog, "n"); next.UID == first.UID {
			t.Errorf("fourth call served by uid %d, the process of the first three, want a fresh one", next.UID)
		}
	})
	t.Run("timeout kills the process", func(t *testing.T) {
		lim := testLimits
		lim.Timeout = 300 * time.Millisecond
		before := identity(t, prog, "s")
		_, err := call(t, prog, "s", map[string]any{"attack": "sleep", "pid": 60000}, lim)
		if got := reasonCode(err); got != sandbox.CodeTimeout {
			t.Fatalf("Run(sleep) code = %q (%v), want %q", got, err, sandbox.CodeTimeout)
		}
		if after := identity(t, prog, "s"); after.UID == before.UID {
			t.Errorf("call after a timeout served by uid %d again, want a fresh process", after.UID)
		}
	})
	t.Run("stderr is captured per call", func(t *testing.T) {
		lim := testLimits
		lim.MaxStderrBytes = 4
		// The plugin's stderr reaches the broker asynchronously; a crash
		// waits for it, so check it on a failing call.
		res, err := call(t, prog, "e", map[string]any{"attack": "crash"}, lim)
		if reasonCode(err) != sandbox.CodeCrashed {
			t.Fatalf("Run(crash) error = %v", err)
		}
		if len(res.Stderr) != 4 || !res.StderrTruncated {
			t.Errorf("Result.Stderr = %q (truncated %v), want the first 4 bytes of the panic, truncated", res.Stderr, res.StderrTruncated)
		}
	})
	t.Run("calls wait for a free process", func(t *testing.T) {
		done := make(chan error, 4)
		for range 4 {
			go func() {
				_, err := call(t, prog, "w", map[string]any{"attack": "sleep", "pid": 50}, testLimits)
				done <- err
			}()
		}
		for range 4 {
			if err := <-done; err != nil {
				t.Errorf("concurrent Run error = %v", err)
			}
		}
		pl := onlyPool(t, prog, "w")
		pl.mu.Lock()
		live := pl.live
		pl.mu.Unlock()
		if live > 2 {
			t.Errorf("pool has %d processes, want at most MaxProcs = 2", live)
		}
	})
}

func TestPoolReplacesAhead(t *testing.T) {
	// replaceAhead(5) = 1: after its fourth call a process is due, and
	// its replacement starts in the background while it serves its fifth.
	r := newRunner(t, Config{MinProcs: 1, MaxProcs: 2, MaxCallsPerProc: 5})
	prog := prepareFixture(t, r, "hostile")
	first := identity(t, prog, "r")
	for range 3 {
		if id := identity(t, prog, "r"); id.UID != first.UID {
			t.Fatalf("call served by uid %d, want the first process (uid %d)", id.UID, first.UID)
		}
	}
	pl := onlyPool(t, prog, "r")
	var spare *proc
	deadline := time.Now().Add(30 * time.Second)
	for spare == nil && time.Now().Before(deadline) {
		pl.mu.Lock()
		for _, pr := range pl.idle {
			if pr.uid != first.UID {
				spare = pr
			}
		}
		pl.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	if spare == nil {
		t.Fatal("no replacement started after the fourth call of a process with MaxCallsPerProc = 5")
	}
	if id := identity(t, prog, "r"); id.UID != first.UID {
		t.Errorf("fifth call served by uid %d, want the due process (uid %d) to serve its last call", id.UID, first.UID)
	}
	if id := identity(t, prog, "r"); id.UID != spare.uid {
		t.Errorf("sixth call served by uid %d, want the replacement started ahead (uid %d)", id.UID, spare.uid)
	}
	pl.mu.Lock()
	live, due := pl.live, pl.due
	pl.mu.Unlock()
	if live != 1 || due != 0 {
		t.Errorf("after the rotation the pool has %d processes, %d due; want 1 and 0", live, due)
	}

	t.Run("never past MaxProcs", func(t *testing.T) {
		r := newRunner(t, Config{MinProcs: 1, MaxProcs: 1, MaxCallsPerProc: 5})
		prog := prepareFixture(t, r, "hostile")
		for range 4 {
			identity(t, prog, "m")
		}
		// The fourth call made its process due; put decides on a
		// replacement before the call returns (topUp counts it live at
		// once), so the pool's size can be read now, without waiting.
		pl := onlyPool(t, prog, "m")
		pl.mu.Lock()
		live := pl.live
		pl.mu.Unlock()
		if live != 1 {
			t.Errorf("pool with MaxProcs = 1 has %d processes after a process became due, want 1", live)
		}
	})
}

// TestTimeLimitCoversTheWait checks that a call's time limit covers the
// time it waits for a free process, not only the time the tool runs.
func TestTimeLimitCoversTheWait(t *testing.T) {
	r := newRunner(t, Config{MinProcs: 1, MaxProcs: 1})
	prog := prepareFixture(t, r, "hostile")
	identity(t, prog, "q") // the pool's one process is warm
	busy := make(chan error, 1)
	go func() {
		_, err := call(t, prog, "q", map[string]any{"attack": "sleep", "pid": 3000}, testLimits)
		busy <- err
	}()
	// Wait until the first call holds the only process.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		pl := onlyPool(t, prog, "q")
		pl.mu.Lock()
		held := len(pl.slots)
		pl.mu.Unlock()
		if held > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first call never took the pool's process")
		}
	}
	lim := testLimits
	lim.Timeout = 300 * time.Millisecond
	_, err := call(t, prog, "q", map[string]any{"attack": "whoami"}, lim)
	if got := reasonCode(err); got != sandbox.CodeTimeout {
		t.Errorf("call queued behind a 3 s call with a 300 ms limit: code = %q (%v), want %q", got, err, sandbox.CodeTimeout)
	}
	if err := <-busy; err != nil {
		t.Errorf("the first call: %v", err)
	}
}

// pluginProcesses lists host processes running as a plugin uid.
func pluginProcesses(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(st), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
				if uid, _ := strconv.Atoi(f[1]); uid >= DefaultUIDBase && uid < DefaultUIDBase+DefaultUIDCount {
					found = append(found, e.Name())
				}
			}
		}
	}
	return found
}

func TestCloseStopsEverything(t *testing.T) {
	requireIsolation(t)
	fixture(t, "echo")
	r, err := New(Config{MinProcs: 2, MaxProcs: 3})
	if err != nil {
		t.Fatal(err)
	}
	prog := prepareFixture(t, r, "hostile")
	for _, tenant := range []string{"a", "b", "c"} {
		identity(t, prog, tenant)
	}
	// A call in flight when Close starts is cancelled.
	inflight := make(chan error, 1)
	go func() {
		_, err := call(t, prog, "a", map[string]any{"attack": "sleep", "pid": 60000}, testLimits)
		inflight <- err
	}()
	for {
		pl := onlyPool(t, prog, "a")
		pl.mu.Lock()
		busy := len(pl.slots)
		pl.mu.Unlock()
		if busy > 0 {
			break
		}
		runtime.Gosched()
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("second Close() error = %v", err)
	}
	if got := reasonCode(<-inflight); got != sandbox.CodeClosed {
		t.Errorf("call in flight during Close: code = %q, want %q", got, sandbox.CodeClosed)
	}
	if _, err := prog.Run(context.Background(), sandbox.Invocation{Args: []byte(`{}`), Limits: testLimits}); reasonCode(err) != sandbox.CodeClosed {
		t.Errorf("Run after Close: error = %v, want code %q", err, sandbox.CodeClosed)
	}
	if procs := pluginProcesses(t); len(procs) != 0 {
		t.Errorf("plugin processes left after Close: %v", procs)
	}
	if _, err := os.Stat(r.stateDir); !os.IsNotExist(err) {
		t.Errorf("state directory %s still exists after Close (stat error %v)", r.stateDir, err)
	}
	// Close waits for every goroutine this package started: none may be
	// left the moment it returns. (go-plugin's and gRPC's own goroutines
	// wind down on their own and are not counted.)
	buf := make([]byte, 4<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "created by github.com/toolwarden/toolwarden/sandbox/plugin.") {
			t.Errorf("goroutine of the plugin runner left after Close:\n%s", g)
		}
	}
}
