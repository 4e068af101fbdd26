package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/auth"
)

func (m *memLog) all() []audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Record(nil), m.recs...)
}

// TestRefusalIsRecorded checks what a refusal in front of the pipeline
// leaves in the log: who and where as far as known, the reason, the
// message's digest and a bounded, redacted excerpt, never the whole.
func TestRefusalIsRecorded(t *testing.T) {
	e := newEnv(t, echoRun, nil)
	payload := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"token":"Bearer Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"` + strings.Repeat(" ", 400) + `}}`)
	err := e.b.Refuse(context.Background(), broker.Refusal{
		Meta:    broker.Meta{Transport: "http", RemoteAddr: "203.0.113.9:4242", UserAgent: "curl/8"},
		Method:  "tools/call",
		Tool:    "echo",
		Code:    "frame.invalid",
		Cause:   errors.New("the detail"),
		Payload: payload,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.log.last(t)
	if rec.Decision != audit.DecisionDeny || rec.Reason != "frame.invalid" || rec.Method != "tools/call" || rec.Tool != "echo" ||
		rec.RemoteAddr != "203.0.113.9:4242" || !strings.Contains(rec.Error, "the detail") {
		t.Errorf("refusal record = %+v", rec)
	}
	if len(rec.PayloadSHA256) != 64 || len(rec.Excerpt) > 2*broker.ExcerptBytes || !strings.HasPrefix(rec.Excerpt, `{"jsonrpc":"2.0"`) {
		t.Errorf("payload digest %q, excerpt %q: want a digest and the first %d bytes of the message, redacted", rec.PayloadSHA256, rec.Excerpt, broker.ExcerptBytes)
	}
	if strings.Contains(rec.Excerpt, "Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl") {
		t.Errorf("the excerpt holds a secret: %q", rec.Excerpt)
	}
}

// TestRefusalFloodIsSummedUp refuses one address's requests many times
// over: the first RefusalBurst of a window are recorded one by one, the
// rest as one summary record when the window ends; another address and
// another reason are not held back by it.
func TestRefusalFloodIsSummedUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, echoRun, nil)
		refuse := func(addr, code string) {
			if err := e.b.Refuse(context.Background(), broker.Refusal{Meta: broker.Meta{Transport: "http", RemoteAddr: addr}, Code: code}); err != nil {
				t.Fatal(err)
			}
		}
		const flood = broker.RefusalBurst + 30
		for range flood {
			refuse("198.51.100.7:1000", "frame.parse")
		}
		refuse("198.51.100.8:1000", "frame.parse")
		refuse("198.51.100.7:1001", "auth.missing")
		if got := len(e.log.all()); got != broker.RefusalBurst+2 {
			t.Fatalf("%d records during the flood, want %d: the burst and the two others", got, broker.RefusalBurst+2)
		}
		time.Sleep(broker.RefusalWindow + broker.RefusalWindow/6 + time.Second) // the window ends; the sweeper sums it up
		recs := e.log.all()
		last := recs[len(recs)-1]
		if len(recs) != broker.RefusalBurst+3 || last.Event != audit.EventRefusals || last.Repeats != flood-broker.RefusalBurst ||
			last.Reason != "frame.parse" || last.RemoteAddr != "198.51.100.7:1000" {
			t.Errorf("after the window: %d records, last %+v; want a summary of the %d refusals not recorded", len(recs), last, flood-broker.RefusalBurst)
		}
	})
}

// TestDenialFloodIsSummedUp: denials by the pipeline are refusals too.
func TestDenialFloodIsSummedUp(t *testing.T) {
	e := newEnv(t, echoRun, nil)
	p := auth.Principal{Tenant: "acme", Subject: "mallory", Roles: []string{"analyst"}}
	for range broker.RefusalBurst + 5 {
		if _, err := e.b.CallTool(context.Background(), broker.Call{Principal: p, Tool: "nope"}); codeOf(err) != "denied.unknown_tool" {
			t.Fatalf("call of an unknown tool: %v", err)
		}
	}
	if got := len(e.log.all()); got != broker.RefusalBurst {
		t.Fatalf("%d records, want %d one by one", got, broker.RefusalBurst)
	}
	if err := e.b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if last := e.log.last(t); last.Event != audit.EventRefusals || last.Repeats != 5 || last.Subject != "mallory" {
		t.Errorf("at Close: %+v, want the summary of 5 denials", last)
	}
}
