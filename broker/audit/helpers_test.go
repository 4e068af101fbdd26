package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// record returns a typical record: one allowed echo call.
func record(i int) *audit.Record {
	return &audit.Record{
		Time:          time.Date(2026, 3, 1, 12, 0, i%60, 1000*i, time.UTC),
		Tenant:        "acme",
		Subject:       "alice@example.com",
		Roles:         []string{"analyst"},
		AuthKind:      "apikey",
		KeyID:         "k_01",
		Session:       "sess-42",
		RequestID:     "req-" + string(rune('a'+i%26)),
		Transport:     "http",
		RemoteAddr:    "127.0.0.1:50000",
		UserAgent:     "test-client/1.0",
		Protocol:      "2025-11-25",
		ClientName:    "claude",
		ClientVersion: "1.2.3",
		Tool:          "echo",
		ToolVersion:   "1.0.0",
		ToolDigest:    "sha256:8d55357a1e220177",
		GrantedBy:     "analyst",
		Arguments:     json.RawMessage(`{"text":"hello <world> & \u2028 friends"}`),
		ArgsSHA256:    "41cac2e421ac57f0",
		Decision:      audit.DecisionAllow,
		Outcome:       audit.OutcomeOK,
		ResultSHA256:  "d054e3446de985e9",
		ResultBytes:   27,
		Duration:      3 * time.Millisecond,
		Sandbox:       "wasm",
		Egress:        []audit.Egress{{Host: "en.wikipedia.org", Port: 443, Allowed: true, BytesOut: 120, BytesIn: 4096}},
	}
}

// logBuffer is a concurrency-safe buffer for a test slog handler.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger() (*slog.Logger, *logBuffer) {
	var buf logBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// open opens a log at path with a captured logger and closes it at cleanup.
func open(t *testing.T, path string, opts audit.Options) *audit.Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger, _ = testLogger()
	}
	l, err := audit.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN appends n typical records, numbered from first.
func appendN(t *testing.T, l *audit.Log, first, n int) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	for i := first; i < first+n; i++ {
		r := record(i)
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatalf("Append(record %d): %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

// writeLog creates a closed log of n records in a temp dir and returns its path.
func writeLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := open(t, path, audit.Options{})
	appendN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// lines splits a log into its lines, newlines kept.
func lines(b []byte) [][]byte {
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

// checkNoWriter fails if any goroutine of a Log is still running.
func checkNoWriter(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "audit.(*Log).run") {
			t.Errorf("writer goroutine still running after Close:\n%s", g)
		}
	}
}
