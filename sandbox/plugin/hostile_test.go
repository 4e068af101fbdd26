package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
)

// reasonCode reads the code a consumer would see.
func reasonCode(err error) string {
	type coded interface {
		error
		ReasonCode() string
	}
	if c, ok := errors.AsType[coded](err); ok {
		return c.ReasonCode()
	}
	if err != nil {
		return "internal"
	}
	return ""
}

func call(t *testing.T, prog *Program, tenant string, args any, lim sandbox.Limits) (*sandbox.Result, error) {
	t.Helper()
	data, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return prog.Run(context.Background(), sandbox.Invocation{Args: data, Limits: lim, Tenant: tenant,
		Env: map[string]string{"API_TOKEN": "declared-secret"}})
}

type whoami struct {
	PID      int    `json:"pid"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Hostname string `json:"hostname"`
}

func identity(t *testing.T, prog *Program, tenant string) whoami {
	t.Helper()
	res, err := call(t, prog, tenant, map[string]any{"attack": "whoami"}, testLimits)
	if err != nil {
		t.Fatalf("whoami error = %v", err)
	}
	var w whoami
	if err := json.Unmarshal(res.Output, &w); err != nil {
		t.Fatalf("whoami output %s: %v", res.Output, err)
	}
	return w
}

// TestHostile runs every attack the issue lists against one program and
// checks each one fails with the expected code while the runner keeps
// serving.
func TestHostile(t *testing.T) {
	r := newRunner(t, Config{MinProcs: 1, MaxProcs: 2})
	prog := prepareFixture(t, r, "hostile")

	// A listener on the host's loopback, and the broker's secrets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	brokerDir := t.TempDir()
	config := filepath.Join(brokerDir, "toolwarden.yaml")
	keys := filepath.Join(brokerDir, "keys", "audit.key")
	os.MkdirAll(filepath.Dir(keys), 0o700)
	os.WriteFile(config, []byte("secret: config"), 0o600)
	os.WriteFile(keys, []byte("secret-key"), 0o600)
	t.Setenv("TOOLWARDEN_TEST_BROKER_SECRET", "hunter2")

	tests := []struct {
		name     string
		args     map[string]any
		wantCode string
		wantMsg  string // substring of the public message
	}{
		{"connect loopback", map[string]any{"attack": "dial", "addr": ln.Addr().String()}, sandbox.CodeToolError, "connect"},
		{"connect external", map[string]any{"attack": "dial", "addr": "1.1.1.1:443"}, sandbox.CodeToolError, "connect"},
		{"read /etc/shadow", map[string]any{"attack": "read", "path": "/etc/shadow"}, sandbox.CodeToolError, "/etc/shadow"},
		{"read broker config", map[string]any{"attack": "read", "path": config}, sandbox.CodeToolError, "toolwarden.yaml"},
		{"read broker keys", map[string]any{"attack": "read", "path": keys}, sandbox.CodeToolError, "audit.key"},
		{"read host proc", map[string]any{"attack": "read", "path": "/proc/1/environ"}, sandbox.CodeToolError, "environ"},
		{"write /etc", map[string]any{"attack": "write", "path": "/etc/passwd", "text": "x"}, sandbox.CodeToolError, "passwd"},
		{"write broker dir", map[string]any{"attack": "write", "path": filepath.Join(brokerDir, "planted"), "text": "x"}, sandbox.CodeToolError, "planted"},
		{"write library dir", map[string]any{"attack": "write", "path": "/usr/lib/planted", "text": "x"}, sandbox.CodeToolError, "planted"},
		{"overwrite own binary", map[string]any{"attack": "write", "path": prog.bin.path, "text": "x"}, sandbox.CodeToolError, "hostile"},
		{"exec a shell", map[string]any{"attack": "exec", "path": "/bin/sh"}, sandbox.CodeToolError, ""},
		{"exec a library", map[string]any{"attack": "exec", "path": "/usr/lib/x86_64-linux-gnu/libc.so.6"}, sandbox.CodeToolError, ""},
		{"fork bomb", map[string]any{"attack": "forkbomb"}, sandbox.CodeToolError, "operation not permitted"},
		{"raw fork (daemon)", map[string]any{"attack": "fork"}, sandbox.CodeToolError, "operation not permitted"},
		{"ptrace broker", map[string]any{"attack": "ptrace", "pid": os.Getpid()}, sandbox.CodeToolError, "operation not permitted"},
		{"kill broker", map[string]any{"attack": "kill", "pid": os.Getpid()}, sandbox.CodeToolError, "kill"},
		{"unshare", map[string]any{"attack": "unshare"}, sandbox.CodeToolError, "operation not permitted"},
		{"mount", map[string]any{"attack": "mount"}, sandbox.CodeToolError, "operation not permitted"},
		{"crash", map[string]any{"attack": "crash"}, sandbox.CodeCrashed, "crashed"},
		{"exit", map[string]any{"attack": "exit"}, sandbox.CodeCrashed, "crashed"},
		{"allocate past the memory limit", map[string]any{"attack": "alloc"}, sandbox.CodeMemory, "memory limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := call(t, prog, "tenant-a", tt.args, testLimits)
			if got := reasonCode(err); got != tt.wantCode {
				out := ""
				if res != nil {
					out = string(res.Output)
				}
				t.Fatalf("Run(%s) code = %q (err %v, output %s), want %q", tt.name, got, err, out, tt.wantCode)
			}
			if se, ok := errors.AsType[*sandbox.Error](err); ok && !strings.Contains(se.Public, tt.wantMsg) {
				t.Errorf("Run(%s) message = %q, want it to mention %q", tt.name, se.Public, tt.wantMsg)
			}
			if res == nil {
				t.Errorf("Run(%s) result = nil, want a result to audit (duration, stderr)", tt.name)
			}
			// The runner still serves the same tenant.
			if w := identity(t, prog, "tenant-a"); w.PID != 1 {
				t.Errorf("after %s: plugin pid = %d, want 1 (its own PID namespace)", tt.name, w.PID)
			}
		})
	}

	t.Run("environment is declared secrets only", func(t *testing.T) {
		res, err := call(t, prog, "tenant-a", map[string]any{"attack": "env"}, testLimits)
		if err != nil {
			t.Fatalf("env error = %v", err)
		}
		var env []string
		json.Unmarshal(res.Output, &env)
		for _, kv := range env {
			if strings.Contains(kv, "hunter2") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
				t.Errorf("plugin environment has %q, want only declared secrets and protocol variables", kv)
			}
		}
		if !strings.Contains(string(res.Output), "API_TOKEN=declared-secret") {
			t.Errorf("plugin environment = %s, want the declared API_TOKEN", res.Output)
		}
	})
	t.Run("stdin is empty", func(t *testing.T) {
		res, err := call(t, prog, "tenant-a", map[string]any{"attack": "stdin"}, testLimits)
		if err != nil {
			t.Fatalf("stdin error = %v", err)
		}
		if string(res.Output) != `""` {
			t.Errorf("plugin read stdin = %s, want nothing (/dev/null)", res.Output)
		}
	})
	t.Run("private tmp is writable", func(t *testing.T) {
		res, err := call(t, prog, "tenant-a", map[string]any{"attack": "write", "path": "/tmp/scratch", "text": "mine"}, testLimits)
		if err != nil || string(res.Output) != `"mine"` {
			t.Errorf("write /tmp = %v, %v; want it to work", res, err)
		}
	})
	t.Run("unprivileged identity", func(t *testing.T) {
		w := identity(t, prog, "tenant-a")
		if w.UID < DefaultUIDBase || w.GID != w.UID || w.Hostname != "toolwarden-plugin" {
			t.Errorf("plugin identity = %+v, want an unprivileged uid from the runner's range and its own host name", w)
		}
	})
	t.Run("no daemon survives", func(t *testing.T) {
		call(t, prog, "tenant-a", map[string]any{"attack": "fork"}, testLimits)
		pl := onlyPool(t, prog, "tenant-a")
		for _, pr := range idleProcs(pl) {
			if n := processesInNamespace(t, pr.run.Load().pid()); n != 1 {
				t.Errorf("plugin PID namespace has %d processes after its call, want 1", n)
			}
		}
	})
	t.Run("tenants never share a process", func(t *testing.T) {
		a := identity(t, prog, "tenant-a")
		b := identity(t, prog, "tenant-b")
		if a.UID == b.UID {
			t.Errorf("tenants a and b were served by uid %d both, want separate processes", a.UID)
		}
	})
}

// onlyPool returns the one pool of tenant.
func onlyPool(t *testing.T, prog *Program, tenant string) *pool {
	t.Helper()
	prog.mu.Lock()
	defer prog.mu.Unlock()
	var found *pool
	for _, pl := range prog.pools {
		if pl.settings.tenant == tenant {
			if found != nil {
				t.Fatalf("tenant %q has more than one pool", tenant)
			}
			found = pl
		}
	}
	if found == nil {
		t.Fatalf("tenant %q has no pool", tenant)
	}
	return found
}

func idleProcs(pl *pool) []*proc {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return append([]*proc(nil), pl.idle...)
}

// processesInNamespace counts the host's processes in pid's PID namespace.
func processesInNamespace(t *testing.T, pid int) int {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatalf("read PID namespace of %d: %v", pid, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if other, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && other == ns {
			n++
		}
	}
	return n
}

// TestCPULimit checks a plugin that spins past its CPU time is killed and
// the call fails with sandbox.timeout, and that work left running after a
// call is not served again.
func TestCPULimit(t *testing.T) {
	r := newRunner(t, Config{CPUTimePerProc: 2 * time.Second, IdleCPU: 100 * time.Millisecond})
	prog := prepareFixture(t, r, "hostile")
	lim := testLimits
	lim.Timeout = time.Second // less than the budget, so calls are admitted
	long := testLimits        // a wall clock far past the CPU budget
	long.Timeout = 2 * time.Minute
	_ = lim
	t.Run("spin", func(t *testing.T) {
		began := time.Now()
		_, err := call(t, prog, "t", map[string]any{"attack": "spin"}, long)
		t.Logf("spin took %v: %v", time.Since(began), err)
		if got := reasonCode(err); got != sandbox.CodeTimeout {
			t.Fatalf("Run(spin) code = %q (%v), want %q", got, err, sandbox.CodeTimeout)
		}
		identity(t, prog, "t")
	})
	t.Run("spin after the call", func(t *testing.T) {
		before := identity(t, prog, "t2")
		if _, err := call(t, prog, "t2", map[string]any{"attack": "spin_after"}, testLimits); err != nil {
			t.Fatalf("Run(spin_after) error = %v", err)
		}
		// Wait (bounded) until the leftover goroutine has used its idle
		// allowance; the next call must get a fresh process.
		pl := onlyPool(t, prog, "t2")
		deadline := time.Now().Add(time.Minute)
		for _, pr := range idleProcs(pl) {
			for time.Now().Before(deadline) {
				cpu, err := pr.cpuTime()
				if err != nil || cpu-pr.cpuAtPut > 200*time.Millisecond {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		after := identity(t, prog, "t2")
		if after.UID == before.UID {
			t.Errorf("call after spin_after served by the same process (uid %d), want a fresh one", after.UID)
		}
	})
}

// TestReplacedBinary checks that a binary changed on disk is refused at
// the next process start.
func TestReplacedBinary(t *testing.T) {
	r := newRunner(t, Config{MinProcs: 1})
	src := pin(t, "hostile")
	data, err := os.ReadFile(src.Path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hostile")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := src
	spec.Path = path
	p, err := r.Prepare(context.Background(), spec)
	if err != nil {
		t.Fatalf("Prepare error = %v", err)
	}
	prog := p.(*Program)
	identity(t, prog, "a")
	// The plugin itself cannot reach its binary...
	if _, err := call(t, prog, "a", map[string]any{"attack": "write", "path": path, "text": "x"}, testLimits); reasonCode(err) != sandbox.CodeToolError {
		t.Errorf("plugin overwrite of its binary: error = %v, want a tool error", err)
	}
	// ...and when someone else replaces it, no new process starts.
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = call(t, prog, "b", map[string]any{"attack": "whoami"}, testLimits)
	if got := reasonCode(err); got != sandbox.CodeDigestMismatch {
		t.Errorf("Run after the binary changed: code = %q (%v), want %q", got, err, sandbox.CodeDigestMismatch)
	}
}
