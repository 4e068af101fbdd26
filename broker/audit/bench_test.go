package audit_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
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
	logger, _ := testLogger()
	l, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"), audit.Options{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*audit.Record, benchWriters)
	for w := range recs {
		recs[w] = record(w)
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
		recs[w] = record(w)
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
	r := record(1)
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
