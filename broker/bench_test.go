package broker_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/sandbox"
)

// lineSink appends each record as one JSON line to a file without fsync:
// exactly the "raw audit-line append" floor, so BenchmarkCallToolNoop
// measures what the pipeline adds on top of its floors.
type lineSink struct {
	mu sync.Mutex
	f  *os.File
}

func newLineSink(b *testing.B) *lineSink {
	f, err := os.Create(filepath.Join(b.TempDir(), "audit.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return &lineSink{f: f}
}

func (s *lineSink) Append(_ context.Context, r *audit.Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.f.Write(append(line, '\n'))
	return err
}

const benchArgs = `{"text":"hello, this is a typical short argument","count":3}`

// BenchmarkCallToolNoop is one CallTool through the whole pipeline with the
// sandbox replaced by a no-op runner.
func BenchmarkCallToolNoop(b *testing.B) {
	set := fixture(b)
	br, err := broker.New(context.Background(), broker.Config{Policy: mustPolicy(b, set), Runners: []sandbox.Runner{noopRunner{}}, Audit: newLineSink(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close(context.Background())
	call := broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(benchArgs), Meta: broker.Meta{Transport: "http", RequestID: "1"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.CallTool(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorSchemaValidate is one validation of the same arguments
// against the same tool schema: the first floor of a call.
func BenchmarkFloorSchemaValidate(b *testing.B) {
	set := fixture(b)
	s := set.Tools["echo"].Schema()
	var doc any
	dec := json.NewDecoder(strings.NewReader(benchArgs))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Validate(doc); len(v) != 0 {
			b.Fatal(v)
		}
	}
}

// BenchmarkFloorAuditLine is one raw append of a typical record: the second
// floor of a call.
func BenchmarkFloorAuditLine(b *testing.B) {
	sink := newLineSink(b)
	rec := typicalRecord()
	b.ReportAllocs()
	for b.Loop() {
		if err := sink.Append(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
}

// typicalRecord is the record of a typical allowed call.
func typicalRecord() *audit.Record {
	return &audit.Record{
		Time: time.Now().UTC(), Tenant: "acme", Subject: "alice", Roles: []string{"admin"}, AuthKind: "cli",
		Transport: "http", RequestID: "1", Tool: "echo", ToolVersion: "1.2.3",
		ToolDigest:   "5e1f7c3b0f6e4d2a9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d",
		ManifestHash: "5e1f7c3b0f6e4d2a9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d",
		GrantedBy:    "admin", Arguments: json.RawMessage(benchArgs),
		ArgsSHA256: "5e1f7c3b0f6e4d2a9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d",
		Decision:   "allow", Outcome: "ok",
		ResultSHA256: "5e1f7c3b0f6e4d2a9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d",
		ResultBytes:  13, Duration: time.Millisecond, Sandbox: "wasm",
	}
}

// BenchmarkCallToolPaired alternates one CallTool (no-op runner) with its
// floors (one validation of the same arguments, one raw append of a
// typical record), timing each: paired samples of the same moments of a
// noisy machine, whose ratio holds better than that of benchmarks run one
// after the other. It reports pipeline-ns/call and floors-ns/call.
func BenchmarkCallToolPaired(b *testing.B) {
	set := fixture(b)
	br, err := broker.New(context.Background(), broker.Config{Policy: mustPolicy(b, set), Runners: []sandbox.Runner{noopRunner{}}, Audit: newLineSink(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close(context.Background())
	call := broker.Call{Principal: principal("admin"), Tool: "echo", Args: json.RawMessage(benchArgs), Meta: broker.Meta{Transport: "http", RequestID: "1"}}
	schema := set.Tools["echo"].Schema()
	var doc any
	dec := json.NewDecoder(strings.NewReader(benchArgs))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		b.Fatal(err)
	}
	sink := newLineSink(b)
	rec := typicalRecord()
	ctx := context.Background()
	var pipeline, floors time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if _, err := br.CallTool(ctx, call); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if v := schema.Validate(doc); len(v) != 0 {
			b.Fatal(v)
		}
		if err := sink.Append(ctx, rec); err != nil {
			b.Fatal(err)
		}
		floors += time.Since(t1)
		pipeline += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(pipeline.Nanoseconds())/float64(n), "pipeline-ns/call")
	b.ReportMetric(float64(floors.Nanoseconds())/float64(n), "floors-ns/call")
}

// noopRunner runs nothing and records nothing: unlike sandboxtest's fake,
// which keeps every call for assertions, it adds no cost of its own.
type noopRunner struct{}

func (noopRunner) Kind() string { return "wasm" }

func (noopRunner) Prepare(context.Context, sandbox.Spec) (sandbox.Program, error) {
	return noopProgram{}, nil
}

type noopProgram struct{}

var noopOutput = []byte(`{"text":"ok"}`)

func (noopProgram) Run(context.Context, sandbox.Invocation) (*sandbox.Result, error) {
	return &sandbox.Result{Output: noopOutput}, nil
}

func (noopProgram) Close(context.Context) error { return nil }
