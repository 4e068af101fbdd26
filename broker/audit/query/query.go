package query

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Filter selects records for [Records], [Summarize] and [Follow]. Each
// set field must match; the zero Filter matches every record. Strings
// match exactly.
type Filter struct {
	Since    time.Time // records at or after Since; zero means no bound
	Until    time.Time // records before Until; zero means no bound
	AfterSeq uint64    // records with a greater seq; 0 means all
	Tenant   string
	Subject  string
	Tool     string
	Decision string // audit.DecisionAllow or audit.DecisionDeny
	Reason   string // reason code, e.g. denied.role
	Session  string
}

// Match reports whether r passes f.
func (f *Filter) Match(r *audit.Record) bool {
	switch {
	case r.Seq <= f.AfterSeq,
		!f.Since.IsZero() && r.Time.Before(f.Since),
		!f.Until.IsZero() && !r.Time.Before(f.Until),
		f.Tenant != "" && r.Tenant != f.Tenant,
		f.Subject != "" && r.Subject != f.Subject,
		f.Tool != "" && r.Tool != f.Tool,
		f.Decision != "" && r.Decision != f.Decision,
		f.Reason != "" && r.Reason != f.Reason,
		f.Session != "" && r.Session != f.Session:
		return false
	}
	return true
}

// Records calls fn with every record of the log at path that matches f, in
// chain order across its files (see [audit.Segments]). It stops at the first
// error from fn and returns it, and at the end of ctx.
//
// Query reads; it does not verify (see [VerifyLog]). It reads each line
// as the canonical encoding the log writes and decodes only the lines
// that match, so its cost is close to a plain read of the files. A line
// that is not a record is an error naming the file and line; a torn last
// line of the active file (a write in progress, or cut short by a crash)
// is skipped.
//
// # Notes
//
// A line edited into a non-canonical form (keys re-cased or reordered)
// may be missed by the fast field scan; [VerifyLog] reports such lines.
func Records(ctx context.Context, path string, f Filter, fn func(*audit.Record) error) error {
	return scanLog(ctx, path, newMatcher(&f), func(line []byte, _ *lineFields, rec *audit.Record) error {
		if rec == nil {
			var err error
			if rec, err = audit.ParseLine(line); err != nil {
				return &malformedError{err}
			}
		}
		if !f.Match(rec) {
			return nil
		}
		return fn(rec)
	})
}

// lineFields are the fields a filter reads, as raw JSON string contents
// (escapes not decoded) cut out of a canonical line; nil means absent.
type lineFields struct {
	seq      uint64
	time     []byte
	event    []byte
	tenant   []byte
	subject  []byte
	session  []byte
	tool     []byte
	decision []byte
	reason   []byte
	outcome  []byte
}

// scanLog reads every line of the log's files and calls fn with each line
// that matches m: with the fields the scan read (rec nil), or with the
// decoded record when the line had to be decoded (fn must then check the
// filter itself). fn must not keep line.
func scanLog(ctx context.Context, path string, m *matcher, fn func(line []byte, lf *lineFields, rec *audit.Record) error) error {
	files, err := audit.Segments(path)
	if err != nil {
		return err
	}
	for i, name := range files {
		if err := scanFile(ctx, name, i == len(files)-1, m, fn); err != nil {
			return err
		}
	}
	return nil
}

// scanChunk is the read buffer of a scan: large, so a read system call
// moves many lines.
const scanChunk = 1 << 20

// errNoMap means a file cannot be memory-mapped here.
var errNoMap = errors.New("memory mapping unavailable")

// lineScan passes the lines of one file through a matcher to fn.
type lineScan struct {
	m    *matcher
	fn   func([]byte, *lineFields, *audit.Record) error
	name string
	n    int        // lines seen
	lf   lineFields // reused: fn may use it only during its call
}

func (s *lineScan) line(line []byte) error {
	s.n++
	s.lf = lineFields{}
	if match, ok := s.m.scan(line, &s.lf); ok {
		if !match {
			return nil
		}
		return lineErr(s.name, s.n, s.fn(line, &s.lf, nil))
	}
	rec, err := audit.ParseLine(line)
	if err != nil {
		return &audit.VerifyError{File: s.name, Line: s.n, Kind: audit.KindMalformed, Msg: "not a record: " + err.Error()}
	}
	return lineErr(s.name, s.n, s.fn(line, nil, rec))
}

// scanFile scans one file of the log; last says it is the active file,
// whose torn last line is skipped. A rotated segment, immutable once
// written, is memory-mapped where possible, which spares copying it.
func scanFile(ctx context.Context, name string, last bool, m *matcher, fn func([]byte, *lineFields, *audit.Record) error) error {
	file, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer file.Close()
	s := &lineScan{m: m, fn: fn, name: name}
	if !last {
		if fi, err := file.Stat(); err == nil {
			if data, unmap, err := mapFile(file, fi.Size()); err == nil {
				defer unmap()
				return s.mapped(ctx, data)
			}
		}
	}
	torn := false
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, scanChunk), audit.MaxLineBytes+1)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			torn = true
			return len(data), nil, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		if s.n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.line(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &audit.VerifyError{File: name, Line: s.n + 1, Kind: audit.KindMalformed, Msg: fmt.Sprintf("line longer than %d bytes", audit.MaxLineBytes)}
		}
		return fmt.Errorf("read audit log %s: %w", name, err)
	}
	if torn && !last {
		return &audit.VerifyError{File: name, Line: s.n + 1, Kind: audit.KindEdited, Msg: "rotated segment ends mid-line"}
	}
	return nil
}

// mapped scans a memory-mapped rotated segment. A fault (the file cut
// shorter while mapped) becomes an error, not a crash.
func (s *lineScan) mapped(ctx context.Context, data []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read audit log %s: the file changed while it was read: %v", s.name, r)
		}
	}()
	for len(data) > 0 {
		if s.n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		i := bytes.IndexByte(data, '\n')
		switch {
		case i < 0:
			return &audit.VerifyError{File: s.name, Line: s.n + 1, Kind: audit.KindEdited, Msg: "rotated segment ends mid-line"}
		case i > audit.MaxLineBytes:
			return &audit.VerifyError{File: s.name, Line: s.n + 1, Kind: audit.KindMalformed, Msg: fmt.Sprintf("line longer than %d bytes", audit.MaxLineBytes)}
		}
		if err := s.line(data[:i:i]); err != nil {
			return err
		}
		data = data[i+1:]
	}
	return nil
}

// malformedError is a line that does not decode as a record, found by a
// scan callback.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return "not a record: " + e.err.Error() }

// lineErr names the line a malformedError came from; other errors (the
// caller's own) and nil pass unchanged.
func lineErr(name string, n int, err error) error {
	if me, ok := err.(*malformedError); ok {
		return &audit.VerifyError{File: name, Line: n, Kind: audit.KindMalformed, Msg: me.Error()}
	}
	return err
}

// Keys the field scan looks for. The canonical encoding writes fields in
// [audit.Record] order, so every field before "arguments" is a string, a string
// array or seq, and no raw `"` occurs inside a string (encoding/json
// writes it as \"): the first `,"tool":"` is the tool key, and the first
// `,"arguments":` after it is the arguments key, whose value is skipped
// structurally; after it only strings, numbers and fixed-key objects
// follow, so the next `,"decision":"` is the decision key.
var (
	keySeq      = []byte(`{"seq":`)
	keyTime     = []byte(`,"time":"`)
	keyEvent    = []byte(`,"event":"`)
	keyTenant   = []byte(`,"tenant":"`)
	keySubject  = []byte(`,"subject":"`)
	keySession  = []byte(`,"session":"`)
	keyTool     = []byte(`,"tool":"`)
	keyArgs     = []byte(`,"arguments":`)
	keyDecision = []byte(`,"decision":"`)
	keyReason   = []byte(`,"reason":"`)
	keyOutcome  = []byte(`,"outcome":"`)
)

// parseFields fills every field of lf from a canonical line. It returns
// false for anything it does not recognise; the caller then decodes the
// line.
func parseFields(line []byte, lf *lineFields) bool {
	i, ok := parseHead(line, lf)
	if ok {
		i, ok = parseTool(line, i, lf, true)
	}
	if ok {
		ok = parseDecision(line, i, lf)
	}
	return ok
}

// parseHead reads seq, time, tenant and subject, which open every line,
// and returns the index after the last one read.
func parseHead(line []byte, lf *lineFields) (int, bool) {
	if !bytes.HasPrefix(line, keySeq) {
		return 0, false
	}
	i := len(keySeq)
	var seq uint64
	start := i
	for i < len(line) && line[i] >= '0' && line[i] <= '9' && i-start < 20 {
		seq = seq*10 + uint64(line[i]-'0')
		i++
	}
	if i == start || !bytes.HasPrefix(line[i:], keyTime) {
		return 0, false
	}
	lf.seq = seq
	var ok bool
	if lf.time, i, ok = stringAt(line, i+len(keyTime)); !ok {
		return 0, false
	}
	if bytes.HasPrefix(line[i:], keyEvent) {
		if lf.event, i, ok = stringAt(line, i+len(keyEvent)); !ok {
			return 0, false
		}
	}
	if bytes.HasPrefix(line[i:], keyTenant) {
		if lf.tenant, i, ok = stringAt(line, i+len(keyTenant)); !ok {
			return 0, false
		}
	}
	if bytes.HasPrefix(line[i:], keySubject) {
		if lf.subject, i, ok = stringAt(line, i+len(keySubject)); !ok {
			return 0, false
		}
	}
	return i, true
}

// parseTool reads the tool, and the session if asked, from line[i:] (just
// after the head), and returns the index after the tool.
func parseTool(line []byte, i int, lf *lineFields, session bool) (int, bool) {
	t := bytes.Index(line[i:], keyTool)
	if t < 0 {
		return 0, false
	}
	t += i
	var ok bool
	if session {
		if s := bytes.Index(line[i:t], keySession); s >= 0 {
			if lf.session, _, ok = stringAt(line, i+s+len(keySession)); !ok {
				return 0, false
			}
		}
	}
	if lf.tool, i, ok = stringAt(line, t+len(keyTool)); !ok {
		return 0, false
	}
	return i, true
}

// parseDecision reads decision, reason and outcome from line[i:] (just
// after the tool).
func parseDecision(line []byte, i int, lf *lineFields) bool {
	if a := bytes.Index(line[i:], keyArgs); a >= 0 {
		if i = strictjson.SkipValue(line, i+a+len(keyArgs)); i < 0 {
			return false
		}
	}
	d := bytes.Index(line[i:], keyDecision)
	if d < 0 {
		return false
	}
	var ok bool
	if lf.decision, i, ok = stringAt(line, i+d+len(keyDecision)); !ok {
		return false
	}
	if bytes.HasPrefix(line[i:], keyReason) {
		if lf.reason, i, ok = stringAt(line, i+len(keyReason)); !ok {
			return false
		}
	}
	if bytes.HasPrefix(line[i:], keyOutcome) {
		if lf.outcome, _, ok = stringAt(line, i+len(keyOutcome)); !ok {
			return false
		}
	}
	return true
}

// stringAt returns the contents of the JSON string whose first character
// is at line[i] (just after the opening quote), and the index just after
// the closing quote.
func stringAt(line []byte, i int) ([]byte, int, bool) {
	end := strictjson.StringEnd(line, i)
	if end < 0 {
		return nil, 0, false
	}
	return line[i : end-1 : end-1], end, true
}

// matcher is a Filter prepared for raw fields.
type matcher struct {
	f       *Filter
	since   []byte // Since as "2006-01-02T15:04:05" in UTC
	until   []byte
	hasTime bool
	// depth is how far into a line the filter reads: 1 the head, 2 the
	// tool (and session), 3 the decision, reason and outcome.
	depth int
}

func newMatcher(f *Filter) *matcher {
	m := &matcher{f: f, depth: 1}
	const secs = "2006-01-02T15:04:05"
	if !f.Since.IsZero() {
		m.since = []byte(f.Since.UTC().Format(secs))
		m.hasTime = true
	}
	if !f.Until.IsZero() {
		m.until = []byte(f.Until.UTC().Format(secs))
		m.hasTime = true
	}
	if f.Tool != "" || f.Session != "" {
		m.depth = 2
	}
	if f.Decision != "" || f.Reason != "" {
		m.depth = 3
	}
	return m
}

// all makes the matcher read every field, for callers that use them.
func (m *matcher) all() *matcher {
	m.depth = 3
	return m
}

// scan reads as much of a canonical line as the filter needs, stopping at
// the first field that does not match. ok is false when the line is not
// in the canonical form the scan knows; the caller then decodes it.
func (m *matcher) scan(line []byte, lf *lineFields) (match, ok bool) {
	f := m.f
	i, ok := parseHead(line, lf)
	if !ok {
		return false, false
	}
	switch {
	case lf.seq <= f.AfterSeq,
		f.Tenant != "" && !jsonStringIs(lf.tenant, f.Tenant),
		f.Subject != "" && !jsonStringIs(lf.subject, f.Subject):
		return false, true
	}
	if m.hasTime {
		if m.since != nil && timeCmp(lf.time, m.since, f.Since) < 0 {
			return false, true
		}
		if m.until != nil && timeCmp(lf.time, m.until, f.Until) >= 0 {
			return false, true
		}
	}
	if m.depth < 2 {
		return true, true
	}
	if i, ok = parseTool(line, i, lf, m.depth == 3 || f.Session != ""); !ok {
		return false, false
	}
	switch {
	case f.Tool != "" && !jsonStringIs(lf.tool, f.Tool),
		f.Session != "" && !jsonStringIs(lf.session, f.Session):
		return false, true
	}
	if m.depth < 3 {
		return true, true
	}
	if !parseDecision(line, i, lf) {
		return false, false
	}
	switch {
	case f.Decision != "" && !jsonStringIs(lf.decision, f.Decision),
		f.Reason != "" && !jsonStringIs(lf.reason, f.Reason):
		return false, true
	}
	return true, true
}

// timeCmp compares a record's raw RFC 3339 time with t (whose UTC
// seconds, formatted, are secs): by text when the record's time is in UTC
// and its seconds differ, by parsing otherwise.
func timeCmp(raw, secs []byte, t time.Time) int {
	if len(raw) >= 20 && raw[len(raw)-1] == 'Z' && (raw[19] == 'Z' || raw[19] == '.') {
		if c := bytes.Compare(raw[:19], secs); c != 0 {
			return c
		}
	}
	rt, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil {
		return -1
	}
	return rt.Compare(t)
}

// jsonStringIs reports whether the JSON string contents raw decode to s.
func jsonStringIs(raw []byte, s string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == s
	}
	return jsonString(raw) == s
}

// jsonString decodes JSON string contents.
func jsonString(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(raw)
	}
	return s
}
