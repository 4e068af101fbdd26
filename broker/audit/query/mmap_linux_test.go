package query

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// TestMappedSegmentCutWhileRead cuts a mapped file to nothing, as an
// attacker or a careless retention job might during a query: the scan
// reports an error instead of crashing on SIGBUS.
func TestMappedSegmentCutWhileRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seg")
	if err := os.WriteFile(path, []byte(strings.Repeat(`{"seq":1}`+"\n", 2000)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	data, unmap, err := mapFile(f, fi.Size())
	if err != nil {
		t.Skipf("mmap unavailable (%v): the fault path goes untested", err)
	}
	defer unmap()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	s := &lineScan{m: newMatcher(&Filter{}), fn: func([]byte, *lineFields, *audit.Record) error { return nil }, name: path}
	err = s.mapped(context.Background(), data)
	if err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Errorf("scan of a file cut under its mapping = %v, want an error", err)
	}
}
