package audittest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// Record returns a typical record: one allowed echo call.
func Record(i int) *audit.Record {
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

// LogBuffer is a concurrency-safe buffer for a test slog handler.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a text logger writing to a LogBuffer.
func Logger() (*slog.Logger, *LogBuffer) {
	var buf LogBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// Open opens a log at path with a captured logger and closes it at cleanup.
func Open(t testing.TB, path string, opts audit.Options) *audit.Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger, _ = Logger()
	}
	l, err := audit.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// AppendN appends n typical records, numbered from first.
func AppendN(t testing.TB, l *audit.Log, first, n int) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	for i := first; i < first+n; i++ {
		r := Record(i)
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatalf("Append(record %d): %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

// WriteLog creates a closed log of n records in a temp dir and returns its path.
func WriteLog(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := Open(t, path, audit.Options{})
	AppendN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return path
}

// ReadFile reads a file or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteFile writes a file, mode 0600, or fails the test.
func WriteFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Lines splits a log into its lines, newlines kept.
func Lines(b []byte) [][]byte {
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}
