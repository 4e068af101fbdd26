package broker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/auth"
)

// Refusal is a request refused in front of the pipeline, by the transport:
// a message that is not JSON-RPC, a failed check of origin, host,
// protocol or session, a failed authentication. Every field but Code is
// as far as known.
type Refusal struct {
	Principal auth.Principal
	Meta      Meta
	// Method is the JSON-RPC method, when the message was read that far.
	Method string
	// Tool is the tool a refused tools/call named.
	Tool string
	// Code is the reason code the client was given. Required.
	Code string
	// Cause is the internal detail, for the audit log only.
	Cause error
	// Payload is the refused message as received. Only its SHA-256 and an
	// excerpt of at most ExcerptBytes are kept, never the whole.
	Payload []byte
}

// Refusal flood control.
const (
	// ExcerptBytes caps the excerpt of a refused message kept in its
	// record.
	ExcerptBytes = 256
	// RefusalBurst is how many refusals of one kind from one source are
	// recorded one by one in a RefusalWindow; the rest are counted and
	// recorded as one EventRefusals record when the window ends.
	RefusalBurst  = 20
	RefusalWindow = time.Minute
	// maxRefusalSources bounds the sources tracked at once; past it, the
	// oldest windows are summed up early.
	maxRefusalSources = 10000
)

// refusalKey is a kind of refusal from one source: a principal when one
// is known, else the remote address without its port.
type refusalKey struct {
	source string
	code   string
}

// refusalWindow counts one key's refusals in one window.
type refusalWindow struct {
	start      time.Time
	recorded   int
	suppressed int
	last       *audit.Record // the last suppressed refusal, for the summary's who and where
}

// floodGate decides which refusals are recorded one by one.
type floodGate struct {
	mu      sync.Mutex // guards following
	windows map[refusalKey]*refusalWindow
}

func newFloodGate() *floodGate { return &floodGate{windows: make(map[refusalKey]*refusalWindow)} }

// admit reports whether rec, a refusal of key at now, is recorded one by
// one. It returns the summaries of windows that have ended, to append.
func (g *floodGate) admit(key refusalKey, rec *audit.Record, now time.Time) (bool, []*audit.Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var due []*audit.Record
	w, ok := g.windows[key]
	if ok && now.Sub(w.start) >= RefusalWindow {
		if s := w.summary(key, now); s != nil {
			due = append(due, s)
		}
		ok = false
	}
	if !ok {
		if len(g.windows) >= maxRefusalSources {
			due = append(due, g.drainLocked(now, true)...)
		}
		w = &refusalWindow{start: now}
		g.windows[key] = w
	}
	if w.recorded < RefusalBurst {
		w.recorded++
		return true, due
	}
	w.suppressed++
	w.last = rec
	return false, due
}

// drain removes the windows that have ended (all of them when all is
// set) and returns their summaries.
func (g *floodGate) drain(now time.Time, all bool) []*audit.Record {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.drainLocked(now, all)
}

func (g *floodGate) drainLocked(now time.Time, all bool) []*audit.Record {
	var out []*audit.Record
	for k, w := range g.windows {
		if all || now.Sub(w.start) >= RefusalWindow {
			if s := w.summary(k, now); s != nil {
				out = append(out, s)
			}
			delete(g.windows, k)
		}
	}
	return out
}

// summary is the EventRefusals record of a window, nil if it suppressed
// nothing.
func (w *refusalWindow) summary(k refusalKey, now time.Time) *audit.Record {
	if w.suppressed == 0 {
		return nil
	}
	s := *w.last
	s.Seq, s.Prev, s.Hash = 0, "", ""
	s.Time = now.UTC()
	s.Event = audit.EventRefusals
	s.Repeats = w.suppressed
	s.Error = fmt.Sprintf("%d more refusals (%s) from %s between %s and %s, not recorded one by one",
		w.suppressed, k.code, k.source, w.start.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	s.Excerpt, s.PayloadSHA256, s.Arguments = "", "", nil
	return &s
}

// source names who a refusal came from, for flood control.
func source(p auth.Principal, m Meta) string {
	if p.Tenant != "" || p.Subject != "" {
		return "principal " + p.Tenant + "/" + p.Subject
	}
	host := m.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		host = m.Transport
	}
	return "address " + host
}

// excerpt returns the start of a refused message as text: at most
// ExcerptBytes, cut on a rune boundary, invalid UTF-8 replaced. The audit
// log escapes what remains; the broker's redactor runs over it.
func excerpt(p []byte) string {
	if len(p) > ExcerptBytes {
		n := ExcerptBytes
		for n > 0 && !utf8.RuneStart(p[n]) {
			n--
		}
		p = p[:n]
	}
	return strings.ToValidUTF8(string(p), "\uFFFD")
}

// Refuse records a request refused in front of the pipeline, as the
// refusal of its principal (or of its remote address, when none was
// authenticated) with its reason code. Floods are summed up: past
// RefusalBurst refusals of one kind from one source in a RefusalWindow,
// the rest are counted and recorded as one EventRefusals record when the
// window ends. It returns an audit.unavailable *Error if a record cannot be
// written.
func (b *Broker) Refuse(ctx context.Context, r Refusal) error {
	rec := b.newRecord(Call{Principal: r.Principal, Tool: r.Tool, Meta: r.Meta}, b.now())
	rec.Decision = audit.DecisionDeny
	rec.Reason = r.Code
	rec.Method = r.Method
	if r.Cause != nil {
		rec.Error = detail(r.Cause)
	}
	if len(r.Payload) > 0 {
		rec.PayloadSHA256 = sha256Hex(r.Payload)
		rec.Excerpt = excerpt(r.Payload)
	}
	if err := b.refusal(ctx, refusalKey{source(r.Principal, r.Meta), r.Code}, rec, nil, nil); err != nil {
		return &Error{Code: CodeAuditUnavailable, Public: "audit log unavailable", Err: err}
	}
	return nil
}

// refusal appends rec, a refusal, unless the flood gate sums it up, and
// the summaries of windows that have ended. It returns the first append
// error.
func (b *Broker) refusal(ctx context.Context, key refusalKey, rec *audit.Record, args map[string]any, sensitive []string) error {
	one, due := b.flood.admit(key, rec, b.now())
	var first error
	for _, s := range due {
		if err := b.record(ctx, s, nil, nil); err != nil && first == nil {
			first = err
		}
	}
	if one {
		if err := b.record(ctx, rec, args, sensitive); err != nil && first == nil {
			first = err
		}
	} else {
		// Redacted now: the summary that stands for it keeps its fields.
		b.redactor.Record(rec, nil, nil)
	}
	return first
}

// flushRefusals appends the summaries of refusal windows that have ended
// (all of them when all is set).
func (b *Broker) flushRefusals(ctx context.Context, all bool) {
	for _, s := range b.flood.drain(b.now(), all) {
		if err := b.record(ctx, s, nil, nil); err != nil {
			b.log.Error("audit: could not record a summary of refusals", "reason", s.Reason, "repeats", s.Repeats, "err", err)
		}
	}
}
