package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
	"github.com/toolwarden/toolwarden/broker/audit/query"
	"github.com/toolwarden/toolwarden/broker/audit/redact"
)

const benchWriters = 16

// runWriters keeps n goroutines calling do back to back; each b.Loop
// iteration waits for one call to complete, so ns/op is the time per
// record at n-way concurrency. It reports records/s.
func runWriters(b *testing.B, n int, do func(w int) error) {
	done := make(chan error)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for {
				err := do(w)
				select {
				case done <- err:
				case <-stop:
					return
				}
			}
		})
	}
	records := 0
	for b.Loop() {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		records++
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	close(stop)
	wg.Wait()
}

// BenchmarkAppendGroupCommit16 measures durable Appends from 16 concurrent
// writers: every record is fsynced before its Append returns.
func BenchmarkAppendGroupCommit16(b *testing.B) {
	logger, _ := audittest.Logger()
	l, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"), audit.Options{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*audit.Record, benchWriters)
	for w := range recs {
		recs[w] = audittest.Record(w)
	}
	runWriters(b, benchWriters, func(w int) error {
		return l.Append(context.Background(), recs[w])
	})
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	var total uint64
	for _, r := range recs {
		total = max(total, r.Seq)
	}
	b.ReportMetric(float64(total)/float64(audit.Syncs(l)), "records/fsync")
}

// BenchmarkAppendRawUnsynced16 is the baseline for
// BenchmarkAppendGroupCommit16: the same records from 16 writers, each
// marshalled and written by a mutex-guarded append to an *os.File, with no
// chain and no fsync.
func BenchmarkAppendRawUnsynced16(b *testing.B) {
	f := rawFile(b)
	var mu sync.Mutex
	recs := make([]*audit.Record, benchWriters)
	for w := range recs {
		recs[w] = audittest.Record(w)
	}
	runWriters(b, benchWriters, func(w int) error {
		line, err := json.Marshal(recs[w])
		if err != nil {
			return err
		}
		line = append(line, '\n')
		mu.Lock()
		defer mu.Unlock()
		_, err = f.Write(line)
		return err
	})
}

// BenchmarkAppendLine is the floor for one audit write: marshal one typical
// record and append the line to a file, unsynced.
func BenchmarkAppendLine(b *testing.B) {
	f := rawFile(b)
	r := audittest.Record(1)
	for b.Loop() {
		line, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			b.Fatal(err)
		}
	}
}

func rawFile(b *testing.B) *os.File {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkAppendSignedRedacted16 is BenchmarkAppendGroupCommit16 with
// everything an audited call pays for: each record's arguments and error
// text are redacted (HMAC markers for a password and a bearer token) with
// package redact, as the broker does before it appends, and checkpoints
// are signed every 1000 records or 10 s. Compare with
// BenchmarkAppendRawUnsynced16.
func BenchmarkAppendSignedRedacted16(b *testing.B) {
	logger, _ := audittest.Logger()
	red, err := redact.New(bytes.Repeat([]byte{9}, audit.HMACKeySize))
	if err != nil {
		b.Fatal(err)
	}
	l, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"), audit.Options{
		Logger: logger, SigningKey: testKey, CheckpointEvery: 1000, CheckpointInterval: 10 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	args := map[string]any{"url": "https://en.wikipedia.org/wiki/Go", "password": "hunter2", "headers": map[string]any{"Authorization": "Bearer Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"}}
	sensitive := []string{"/password"}
	const errText = "upstream returned 401 for https://en.wikipedia.org/wiki/Go with token=abc123abc123"
	recs := make([]*audit.Record, benchWriters)
	for w := range recs {
		recs[w] = audittest.Record(w)
	}
	runWriters(b, benchWriters, func(w int) error {
		r := recs[w]
		r.Arguments, _ = json.Marshal(args)
		r.Error = errText
		red.Record(r, args, sensitive)
		return l.Append(context.Background(), r)
	})
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	var total uint64
	for _, r := range recs {
		total = max(total, r.Seq)
	}
	b.ReportMetric(float64(total)/float64(audit.Syncs(l)), "records/fsync")
}

// queryBase is the time of the first generated record.
var queryBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// benchLog is the generated 1M-record log shared by the query benchmarks.
var benchLog struct {
	once sync.Once
	dir  string
	path string
	err  error
}

const benchRecords = 1_000_000

// benchRecord is record i of the generated log: 20 tenants, 200
// subjects, 10 tools, one call in 8 denied, times a second apart.
func benchRecord(i int) *audit.Record {
	r := audittest.Record(i)
	r.Time = queryBase.Add(time.Duration(i) * time.Second)
	r.Tenant = fmt.Sprintf("tenant-%02d", i%20)
	r.Subject = fmt.Sprintf("user-%03d@example.com", i%200)
	r.Session = fmt.Sprintf("sess-%d", i/50)
	r.RequestID = fmt.Sprintf("req-%d", i)
	r.Tool = []string{"echo", "http_fetch", "jq", "sqlite_query", "grep", "fs_read", "git_log", "calc", "translate", "summarize"}[i%10]
	r.Arguments = json.RawMessage(fmt.Sprintf(`{"url":"https://en.wikipedia.org/wiki/Page_%d","max_bytes":65536}`, i))
	if i%8 == 0 {
		r.Decision, r.Reason, r.Outcome = audit.DecisionDeny, []string{"denied.role", "denied.arguments", "limit.rate"}[i%3], ""
	}
	return r
}

// generatedLog returns the path of the 1M-record log, writing it (rotated
// at 64 MiB, about 700 MB in all) on first use. TestMain removes it.
func generatedLog(b *testing.B) string {
	benchLog.once.Do(func() {
		benchLog.dir, benchLog.err = os.MkdirTemp("", "audit-bench-")
		if benchLog.err != nil {
			return
		}
		benchLog.path = filepath.Join(benchLog.dir, "audit.log")
		benchLog.err = audit.GenerateLog(benchLog.path, benchRecords, audit.DefaultRotateBytes, benchRecord)
	})
	if benchLog.err != nil {
		b.Fatal(benchLog.err)
	}
	return benchLog.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchLog.dir != "" {
		os.RemoveAll(benchLog.dir)
	}
	os.Exit(code)
}

// BenchmarkQuery1M runs a forensic query over the generated 1M records in
// rotated files: one tenant's denials in one day (0.2% of the records,
// each decoded). Compare with BenchmarkReadLines1M.
func BenchmarkQuery1M(b *testing.B) {
	path := generatedLog(b)
	f := query.Filter{Tenant: "tenant-04", Decision: audit.DecisionDeny,
		Since: queryBase.Add(500_000 * time.Second), Until: queryBase.Add((500_000 + 86_400) * time.Second)}
	var bytes int64
	for b.Loop() {
		n := 0
		if err := query.Records(context.Background(), path, f, func(*audit.Record) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("query matched nothing")
		}
		bytes = fileBytes(b, path)
	}
	b.SetBytes(bytes)
}

// BenchmarkReadLines1M is the floor for BenchmarkQuery1M: a plain
// sequential read of the same files with bufio.Scanner, counting lines.
func BenchmarkReadLines1M(b *testing.B) {
	path := generatedLog(b)
	files, err := audit.Segments(path)
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	for b.Loop() {
		n := 0
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), audit.MaxLineBytes+1)
			for sc.Scan() {
				n++
			}
			if err := sc.Err(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		if n != benchRecords {
			b.Fatalf("read %d lines, want %d", n, benchRecords)
		}
		bytes = fileBytes(b, path)
	}
	b.SetBytes(bytes)
}

func fileBytes(b *testing.B, path string) int64 {
	files, err := audit.Segments(path)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
