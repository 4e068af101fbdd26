package query_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
	"github.com/toolwarden/toolwarden/broker/audit/query"
)

// fieldsOf returns the fields the query scan must read from r.
func fieldsOf(r *audit.Record) query.Fields {
	return query.Fields{Seq: r.Seq, Time: r.Time.Format(time.RFC3339Nano), Tenant: r.Tenant, Subject: r.Subject, Session: r.Session,
		Tool: r.Tool, Decision: r.Decision, Reason: r.Reason, Outcome: r.Outcome}
}

// FuzzQueryLine checks the fast field scan that Records and Follow use to
// read audit lines. On any line it must not panic; on a canonical line it
// must read exactly the fields the line decodes to; and on the line of
// any record (whatever its strings and arguments) it must succeed.
func FuzzQueryLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte, tenant, tool string, args []byte) {
		if got, ok := query.ParseFields(line); ok {
			var rec audit.Record
			if json.Unmarshal(line, &rec) == nil {
				if canon, err := audit.EncodeLine(&rec); err == nil && bytes.Equal(canon, line) && got != fieldsOf(&rec) {
					t.Fatalf("ParseFields(%q) = %+v, want %+v", line, got, fieldsOf(&rec))
				}
			}
		}
		r := audittest.Record(3)
		r.Seq = 1
		r.Tenant, r.Subject, r.Tool, r.Reason, r.Session = tenant, tool+tenant, tool, tenant, tool
		if len(args)%2 == 1 {
			r.Event = tenant // records that are no call carry an event before the tenant
		}
		r.Arguments = nil
		if json.Valid(args) {
			r.Arguments = args
		}
		canon, err := audit.EncodeLine(r)
		if err != nil {
			return
		}
		var back audit.Record
		if err := json.Unmarshal(canon, &back); err != nil {
			t.Fatalf("canonical line %q does not decode: %v", canon, err)
		}
		got, ok := query.ParseFields(canon)
		if !ok || got != fieldsOf(&back) {
			t.Fatalf("ParseFields(%q) = %+v, %v; want %+v", canon, got, ok, fieldsOf(&back))
		}
	})
}

func TestParseFieldsOnLog(t *testing.T) {
	path, recs := variedLog(t, 40)
	i := 0
	files, _ := audit.Segments(path)
	for _, f := range files {
		for _, line := range audittest.Lines(audittest.ReadFile(t, f)) {
			got, ok := query.ParseFields(bytes.TrimSuffix(line, []byte("\n")))
			if want := fieldsOf(recs[i]); !ok || got != want {
				t.Errorf("line %d: ParseFields = %+v, %v; want %+v", i+1, got, ok, want)
			}
			i++
		}
	}
	if i != len(recs) {
		t.Errorf("read %d lines, want %d", i, len(recs))
	}
}
