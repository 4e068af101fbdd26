package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
	"github.com/toolwarden/toolwarden/broker/audit/query"
)

var queryBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// variedRecord returns record i of a mixed workload. Some arguments and
// strings are built to fool a naive field scan: argument keys named
// "tool" and "decision", escaped quotes, and omitted fields.
func variedRecord(i int) *audit.Record {
	r := audittest.Record(i)
	r.Time = queryBase.Add(time.Duration(i) * time.Minute)
	r.Tenant = []string{"acme", "globex", `evil"co`, ""}[i%4]
	r.Subject = []string{"alice", "bob", "carol <c@x>"}[i%3]
	r.Session = fmt.Sprintf("sess-%d", i%5)
	if i%7 == 0 {
		r.Session = ""
	}
	r.Tool = []string{"echo", "http_fetch", "jq"}[i%3]
	r.Arguments = json.RawMessage(fmt.Sprintf(`{"tool":"rm","x":{"decision":"deny","s":"\"},\"decision\":\"deny"},"n":%d}`, i))
	if i%6 == 0 {
		r.Arguments = nil
	}
	switch i % 5 {
	case 0:
		r.Decision, r.Reason, r.Outcome = audit.DecisionDeny, "denied.role", ""
	case 1:
		r.Decision, r.Reason, r.Outcome = audit.DecisionDeny, "denied.arguments", ""
	case 2:
		r.Decision, r.Reason, r.Outcome = audit.DecisionAllow, "sandbox.timeout", audit.OutcomeError
	default:
		r.Decision, r.Reason, r.Outcome = audit.DecisionAllow, "", audit.OutcomeOK
	}
	r.Error = `line with "decision":"allow" inside`
	return r
}

// variedLog writes n varied records to a rotating log and returns its path
// and the records as appended.
func variedLog(t *testing.T, n int) (string, []*audit.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{RotateBytes: 8 << 10})
	var recs []*audit.Record
	for i := range n {
		r := variedRecord(i)
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, recs
}

func querySeqs(t *testing.T, path string, f query.Filter) []uint64 {
	t.Helper()
	var out []uint64
	if err := query.Records(context.Background(), path, f, func(r *audit.Record) error {
		out = append(out, r.Seq)
		return nil
	}); err != nil {
		t.Fatalf("Query(%+v): %v", f, err)
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	path, recs := variedLog(t, 120)
	if files, _ := audit.Segments(path); len(files) < 3 {
		t.Fatalf("want a rotated log, got %v", files)
	}
	tests := []struct {
		name string
		f    query.Filter
	}{
		{"all", query.Filter{}},
		{"tenant", query.Filter{Tenant: "acme"}},
		{"tenant with a quote", query.Filter{Tenant: `evil"co`}},
		{"subject with escapes", query.Filter{Subject: "carol <c@x>"}},
		{"tool", query.Filter{Tool: "jq"}},
		{"decision deny", query.Filter{Decision: audit.DecisionDeny}},
		{"decision allow", query.Filter{Decision: audit.DecisionAllow}},
		{"reason", query.Filter{Reason: "denied.arguments"}},
		{"session", query.Filter{Session: "sess-3"}},
		{"time range", query.Filter{Since: queryBase.Add(30 * time.Minute), Until: queryBase.Add(45 * time.Minute)}},
		{"time range, sub-second bound", query.Filter{Since: queryBase.Add(30*time.Minute + time.Nanosecond)}},
		{"time range in another zone", query.Filter{Until: queryBase.Add(10 * time.Minute).In(time.FixedZone("X", 3600))}},
		{"after seq", query.Filter{AfterSeq: 100}},
		{"combined", query.Filter{Tenant: "globex", Decision: audit.DecisionDeny, Tool: "echo", Since: queryBase.Add(time.Hour)}},
		{"no match", query.Filter{Tool: "rm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []uint64
			for _, r := range recs {
				if tt.f.Match(r) {
					want = append(want, r.Seq)
				}
			}
			if got := querySeqs(t, path, tt.f); !slices.Equal(got, want) {
				t.Errorf("Query(%+v) = %v, want %v", tt.f, got, want)
			}
		})
	}
	if n := len(querySeqs(t, path, query.Filter{Tool: "rm"})); n != 0 {
		t.Errorf("a tool named only inside arguments matched %d records", n)
	}
}

func TestQueryReadsRecordsBack(t *testing.T) {
	path, recs := variedLog(t, 10)
	var got []*audit.Record
	query.Records(context.Background(), path, query.Filter{}, func(r *audit.Record) error {
		got = append(got, r)
		return nil
	})
	if len(got) != len(recs) {
		t.Fatalf("Query returned %d records, want %d", len(got), len(recs))
	}
	for i, r := range got {
		if r.Hash != recs[i].Hash || r.Tenant != recs[i].Tenant || !bytes.Equal(r.Arguments, recs[i].Arguments) {
			t.Errorf("record %d = %+v, want %+v", i+1, r, recs[i])
		}
	}
	stop := errors.New("stop")
	n := 0
	err := query.Records(context.Background(), path, query.Filter{}, func(*audit.Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Query with fn failing at 3 = %v after %d, want stop after 3", err, n)
	}
}

func TestQueryTornAndMalformed(t *testing.T) {
	path := audittest.WriteLog(t, 3)
	good := audittest.ReadFile(t, path)
	audittest.WriteFile(t, path, append(bytes.Clone(good), `{"seq":4,"time":"2026`...))
	if got := querySeqs(t, path, query.Filter{}); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("Query over a torn tail = %v, want the 3 complete records", got)
	}
	ls := audittest.Lines(good)
	audittest.WriteFile(t, path, bytes.Join([][]byte{ls[0], []byte("garbage\n"), ls[1]}, nil))
	err := query.Records(context.Background(), path, query.Filter{}, func(*audit.Record) error { return nil })
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Line != 2 || ve.Kind != audit.KindMalformed || ve.File != path {
		t.Errorf("Query over a garbage line = %v, want %s line 2 malformed", err, path)
	}
}

func TestComputeStats(t *testing.T) {
	path, recs := variedLog(t, 60)
	s, err := query.Summarize(context.Background(), path, query.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := query.Summary{DenialsByReason: map[string]int{}, FailuresByReason: map[string]int{}, Tools: map[string]int{}, Subjects: map[string]int{}}
	for _, r := range recs {
		want.Records++
		want.Tools[r.Tool]++
		want.Subjects[r.Tenant+"/"+r.Subject]++
		if r.Decision == audit.DecisionDeny {
			want.Denied++
			want.DenialsByReason[r.Reason]++
		} else {
			want.Allowed++
			if r.Outcome == audit.OutcomeError {
				want.Failed++
				want.FailuresByReason[r.Reason]++
			}
		}
	}
	want.First, want.Last = recs[0].Time, recs[len(recs)-1].Time
	gotJSON, _ := json.Marshal(s)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("ComputeStats =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	top := query.Top(s.Tools, 2)
	if len(top) != 2 || top[0].N != 20 || top[0].Key != "echo" {
		t.Errorf("Top(tools, 2) = %v, want echo first with 20", top)
	}
	s, err = query.Summarize(context.Background(), path, query.Filter{Decision: audit.DecisionDeny, Tenant: "acme"})
	if err != nil || s.Records == 0 || s.Records != s.Denied || s.Allowed != 0 {
		t.Errorf("ComputeStats(deny, acme) = %+v, %v", s, err)
	}
}

func TestOCSFEvent(t *testing.T) {
	r := variedRecord(5) // denied.role
	r.Seq = 42
	r.RemoteAddr = "203.0.113.9:51234"
	r.Model = "claude-x"
	r.Error = "denied\n\x1b[31m"
	b, err := query.OCSF(r, "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(b, "\n\r\x1b") {
		t.Errorf("event is not one clean line: %q", b)
	}
	var e struct {
		ClassUID      int   `json:"class_uid"`
		CategoryUID   int   `json:"category_uid"`
		ActivityID    int   `json:"activity_id"`
		TypeUID       int   `json:"type_uid"`
		SeverityID    int   `json:"severity_id"`
		Time          int64 `json:"time"`
		StatusID      int   `json:"status_id"`
		DispositionID int   `json:"disposition_id"`
		Metadata      struct {
			Version, UID string
			Product      struct{ Name string }
		} `json:"metadata"`
		Actor struct {
			User struct{ UID string }
		} `json:"actor"`
		API struct {
			Operation string
			Service   struct{ Name string }
			Response  struct{ Error string }
		} `json:"api"`
		SrcEndpoint struct {
			IP   string
			Port int
		} `json:"src_endpoint"`
		Unmapped map[string]any `json:"unmapped"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	switch {
	case e.ClassUID != 6003 || e.CategoryUID != 6 || e.ActivityID != 99 || e.TypeUID != 600399:
		t.Errorf("class/category/activity/type = %d/%d/%d/%d, want 6003/6/99/600399", e.ClassUID, e.CategoryUID, e.ActivityID, e.TypeUID)
	case e.Time != r.Time.UnixMilli() || e.SeverityID == 0:
		t.Errorf("time %d severity %d", e.Time, e.SeverityID)
	case e.StatusID != 2 || e.DispositionID != 2:
		t.Errorf("denied call: status_id %d disposition_id %d, want 2 and 2 (failure, blocked)", e.StatusID, e.DispositionID)
	case e.Metadata.Version != query.OCSFVersion || e.Metadata.UID != "broker-1:42" || e.Metadata.Product.Name != "toolwarden":
		t.Errorf("metadata = %+v", e.Metadata)
	case e.Actor.User.UID != r.Subject || e.API.Operation != "tools/call" || e.API.Service.Name != r.Tool || e.API.Response.Error != "denied.role":
		t.Errorf("actor/api = %+v %+v", e.Actor, e.API)
	case e.SrcEndpoint.IP != "203.0.113.9" || e.SrcEndpoint.Port != 51234:
		t.Errorf("src_endpoint = %+v", e.SrcEndpoint)
	case e.Unmapped["model"] != "claude-x" || e.Unmapped["hash"] != r.Hash && r.Hash != "":
		t.Errorf("unmapped = %v", e.Unmapped)
	}
	ok := variedRecord(3)
	b, _ = query.OCSF(ok, "broker-1")
	if !strings.Contains(string(b), `"status_id":1,`) || !strings.Contains(string(b), `"disposition_id":1,`) {
		t.Errorf("allowed call event %s: want status_id 1, disposition_id 1", b)
	}
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	opts := audit.Options{RotateBytes: 6 << 10}
	l := audittest.Open(t, path, opts)
	audittest.AppendN(t, l, 1, 5)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() {
		done <- query.Follow(ctx, path, query.Filter{AfterSeq: 2, Tool: "echo"}, time.Millisecond, func(r *audit.Record) error {
			got <- r.Seq
			return nil
		})
	}()
	// Enough records to rotate several times while Follow reads.
	for i := 6; i <= 40; i++ {
		r := audittest.Record(i)
		if i%4 == 0 {
			r.Tool = "jq"
		}
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	var want []uint64
	for i := uint64(3); i <= 40; i++ {
		if i < 6 || i%4 != 0 {
			want = append(want, i)
		}
	}
	var seqs []uint64
	for len(seqs) < len(want) {
		select {
		case s := <-got:
			seqs = append(seqs, s)
		case err := <-done:
			t.Fatalf("Follow returned early: %v (after %v)", err, seqs)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow = %v after cancel, want nil", err)
	}
	if !slices.Equal(seqs, want) {
		t.Errorf("Follow gave %v, want %v", seqs, want)
	}
	if files, _ := audit.Segments(path); len(files) < 3 {
		t.Errorf("the log did not rotate while followed: %v", files)
	}
}

func TestTail(t *testing.T) {
	path, recs := variedLog(t, 120)
	tests := []struct {
		name string
		f    query.Filter
		n    int
	}{
		{"last 5", query.Filter{}, 5},
		{"last 7 of a tenant across files", query.Filter{Tenant: "globex"}, 7},
		{"more than match", query.Filter{Tool: "jq", Decision: audit.DecisionDeny}, 1000},
		{"none", query.Filter{Tool: "rm"}, 3},
		{"zero", query.Filter{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []uint64
			for _, r := range recs {
				if tt.f.Match(r) {
					want = append(want, r.Seq)
				}
			}
			want = want[max(0, len(want)-tt.n):]
			got, last, err := query.Tail(context.Background(), path, tt.f, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, r := range got {
				seqs = append(seqs, r.Seq)
			}
			if !slices.Equal(seqs, want) || last != 120 {
				t.Errorf("Tail(%+v, %d) = %v, last %d; want %v, last 120", tt.f, tt.n, seqs, last, want)
			}
		})
	}
}

// TestOCSFRaisesContainment: a call the sandbox had to contain, or whose
// output was screened, is no informational event.
func TestOCSFRaisesContainment(t *testing.T) {
	for _, tc := range []struct {
		reason      string
		flags       []string
		disposition string
		severity    string
	}{
		{"sandbox.contained", []string{"sandbox_refused"}, "Blocked", "Medium"},
		{"output.redacted", []string{"output_secret"}, "Corrected", "Medium"},
		{"output.flagged", []string{"output_instruction"}, "Detected", "Medium"},
		{"", nil, "Allowed", "Informational"},
	} {
		r := audittest.Record(1)
		r.Reason, r.Flags = tc.reason, tc.flags
		b, err := query.OCSF(r, "test")
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Disposition string `json:"disposition"`
			Severity    string `json:"severity"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.Disposition != tc.disposition || e.Severity != tc.severity {
			t.Errorf("%s: disposition %s severity %s, want %s %s", tc.reason, e.Disposition, e.Severity, tc.disposition, tc.severity)
		}
	}
}
