package redteam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/query"
)

// Verdicts of a case.
const (
	Passed  = "passed"
	Failed  = "failed"  // the outcome is not the one expected, but nothing got through
	Unsafe  = "unsafe"  // something got through: allowed where refused, a canary leaked, the broker fell over
	Skipped = "skipped" // a need of the case is not met here
)

// Result is one case run over one transport.
type Result struct {
	Category  string `json:"category"`
	Name      string `json:"name"`
	Transport string `json:"transport"`
	Verdict   string `json:"verdict"`
	Detail    string `json:"detail,omitempty"`
	// Got is what the reply said: outcome, reason and HTTP status.
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Status  int    `json:"status,omitempty"`
	Reply   string `json:"reply,omitempty"` // the reply's first 512 bytes
}

// Report is a run's results and what the audit log holds of them.
type Report struct {
	Results []Result `json:"results"`
	// AuditChecked says whether audit logs were read: always for a spawned
	// broker; for an attached one, where they were named.
	AuditChecked bool `json:"auditChecked"`
	// Audit compares, per reason code, the refusals the corpus caused with
	// the records of them (one by one, or summed up in floods).
	Audit   []AuditCount `json:"audit"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Unsafe  int          `json:"unsafe"`
	Skipped int          `json:"skipped"`
}

// AuditCount is one reason code's refusals and records.
type AuditCount struct {
	Reason   string `json:"reason"`
	Refused  int    `json:"refused"`
	Recorded int    `json:"recorded"`
}

// Options configure a run.
type Options struct {
	// Timeout bounds each exchange; zero means 60s.
	Timeout time.Duration
	// RequireIsolation fails, rather than skips, cases that need plugin
	// isolation where it is unavailable.
	RequireIsolation bool
	// Progress, if set, gets one line per case.
	Progress io.Writer
}

// passwdLine is content of /etc/passwd: a reply holding it read a file it
// must not have.
const passwdLine = "root:x:0:0:"

// Run runs every case against t, over each transport it names, then stops
// the target and checks its audit log.
func Run(ctx context.Context, t *Target, cases []Case, opts Options) (*Report, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	r := &runner{t: t, opts: opts, client: &http.Client{Timeout: opts.Timeout}, refusals: map[string]int{}}
	if slices.ContainsFunc(cases, func(c Case) bool { return c.Requires == "lure" }) {
		r.lure, r.lureErr = startLure(LureAddr)
		defer r.lure.close()
	}
	rep := &Report{}
	for i := range cases {
		c := &cases[i]
		for _, tr := range t.transports() {
			if c.Transport != "both" && c.Transport != tr {
				continue
			}
			res := r.run(ctx, c, tr)
			rep.Results = append(rep.Results, res)
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "%-7s %-10s %-5s %s\n", res.Verdict, c.Category, tr, c.Name)
			}
			if res.Verdict == Unsafe && strings.HasPrefix(res.Detail, "broker down") {
				rep.count()
				return rep, fmt.Errorf("redteam: the broker fell over at %s/%s: %s", c.Category, c.Name, res.Detail)
			}
		}
	}
	// The brokers stop gracefully, so that what they hold (summaries of
	// refusal floods) is written, then the log is read.
	t.Stop()
	err := r.checkAudit(ctx, rep)
	rep.count()
	return rep, err
}

// count sums the verdicts up.
func (rep *Report) count() {
	rep.Passed, rep.Failed, rep.Unsafe, rep.Skipped = 0, 0, 0, 0
	for _, res := range rep.Results {
		switch res.Verdict {
		case Passed:
			rep.Passed++
		case Failed:
			rep.Failed++
		case Unsafe:
			rep.Unsafe++
		case Skipped:
			rep.Skipped++
		}
	}
}

type runner struct {
	t        *Target
	lure     *lure
	lureErr  error
	opts     Options
	client   *http.Client
	id       int
	refusals map[string]int // reason → refusals the corpus caused
}

// tmplData is what a case's templates see.
type tmplData struct {
	Host      string // the HTTP broker's host:port
	Key       string // the caller's credential
	BrokerPID int    // the HTTP broker's process id (as the host sees it)
	Meta      string // the _meta object of a protocol 2026-07-28 request
	Lure      string // the lure server's host:port (see LureAddr)
}

// run runs one case over one transport.
func (r *runner) run(ctx context.Context, c *Case, tr string) Result {
	res := Result{Category: c.Category, Name: c.Name, Transport: tr}
	if c.Requires == "isolation" && !r.t.Isolated {
		if r.opts.RequireIsolation {
			res.Verdict, res.Detail = Failed, "plugin isolation is unavailable here, and it is required"
		} else {
			res.Verdict, res.Detail = Skipped, "SKIPPED: plugin isolation is unavailable on this host; plugin attacks untested"
		}
		return res
	}
	if c.Requires == "lure" && r.lure == nil {
		res.Verdict, res.Detail = Skipped, fmt.Sprintf("SKIPPED: the lure server is unavailable (%v); redirect attacks untested", r.lureErr)
		return res
	}
	if tr == "stdio" {
		if r.t.Attached {
			res.Verdict, res.Detail = Skipped, "an attached broker is attacked over HTTP only"
			return res
		}
		if _, ok := r.t.Key(c.As); !ok {
			res.Verdict, res.Detail = Skipped, "a stdio broker needs a credential to start"
			return res
		}
	}
	key, _ := r.t.Key(c.As)
	data := tmplData{Host: strings.TrimPrefix(strings.TrimSuffix(r.t.url, "/mcp"), "http://"), Key: key, BrokerPID: r.t.pid(), Meta: modernMeta, Lure: LureAddr}
	msgs, err := r.messages(c, data)
	if err != nil {
		res.Verdict, res.Detail = Failed, "the case does not expand: "+err.Error()
		return res
	}
	var got reply
	switch tr {
	case "http":
		got, err = r.viaHTTP(ctx, c, msgs, data)
	default:
		got, err = r.viaStdio(c, msgs)
	}
	res.Status, res.Outcome, res.Reason = got.status, got.outcome, got.reason
	res.Reply = clip(string(got.body), 512)
	if err != nil {
		res.Verdict, res.Detail = Failed, err.Error()
	} else {
		res.Verdict, res.Detail = judge(c, tr, got)
	}
	for _, canary := range append(r.t.Canaries(), passwdLine) {
		if canary != "" && bytes.Contains(got.body, []byte(canary)) {
			res.Verdict, res.Detail = Unsafe, "the reply leaks a canary (a secret value or file content it must never hold)"
		}
	}
	if res.Verdict != Unsafe {
		if err := r.alive(ctx, tr, c.As); err != nil {
			res.Verdict, res.Detail = Unsafe, "broker down after the case: "+err.Error()
		}
	}
	return res
}

// tally counts a refusal the corpus caused: the audit log must hold a
// record of each.
func (r *runner) tally(outcome, reason string) {
	if outcome == OutcomeRefused && reason != "" {
		r.refusals[reason]++
	}
}

// messages returns the messages of a case, expanded.
func (r *runner) messages(c *Case, data tmplData) ([]string, error) {
	if c.Call != nil {
		r.id++
		m, err := callMessage(c.Call, r.id, data)
		return []string{m}, err
	}
	var out []string
	for _, s := range c.Send {
		m, err := expand(s, data)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// reply is what came back, read.
type reply struct {
	status  int
	body    []byte
	outcome string
	reason  string
}

// read classifies a JSON-RPC reply.
func read(body []byte) (outcome, reason string) {
	var m struct {
		Error *struct {
			Data struct {
				Reason string `json:"reason"`
			} `json:"data"`
		} `json:"error"`
		Result *struct {
			IsError bool           `json:"isError"`
			Meta    map[string]any `json:"_meta"`
		} `json:"result"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &m) != nil {
		return OutcomeRefused, ""
	}
	switch {
	case m.Error != nil:
		return OutcomeRefused, m.Error.Data.Reason
	case m.Result == nil:
		return OutcomeRefused, ""
	}
	reason, _ = m.Result.Meta["toolwarden.dev/reason"].(string)
	switch {
	case m.Result.IsError && failedFamily(reason):
		return OutcomeFailed, reason
	case m.Result.IsError:
		return OutcomeRefused, reason
	case reason == "sandbox.contained":
		return OutcomeContained, reason
	case reason == "output.redacted":
		return OutcomeRedacted, reason
	case reason == "output.flagged":
		return OutcomeFlagged, reason
	}
	return OutcomeAllowed, reason
}

// readHTTP classifies an HTTP reply. One net/http wrote itself, before
// the broker saw the request (a plain-text 4xx or 5xx), is refused with
// protocol.bad_request, the code the broker records it under.
func readHTTP(hr httpReply) (outcome, reason string) {
	outcome, reason = read(hr.body)
	if reason == "" && hr.status >= 400 && !bytes.HasPrefix(bytes.TrimSpace(hr.body), []byte("{")) {
		reason = "protocol.bad_request"
	}
	return outcome, reason
}

// failedFamily reports a reason of a call that ran and failed.
func failedFamily(reason string) bool {
	f, _, _ := strings.Cut(reason, ".")
	return f == "sandbox" || f == "tool" || reason == "output.too_large" || reason == "output.blocked"
}

// judge compares what came back with what the case expects.
func judge(c *Case, transport string, got reply) (string, string) {
	e := c.Expect
	for _, s := range e.NotInReply {
		if bytes.Contains(got.body, []byte(s)) {
			return Unsafe, fmt.Sprintf("the reply holds %q", s)
		}
	}
	if got.outcome != e.Outcome {
		verdict := Failed
		if got.outcome == OutcomeAllowed && e.Outcome != OutcomeAllowed {
			verdict = Unsafe
		}
		return verdict, fmt.Sprintf("outcome %s (%s), want %s", got.outcome, got.reason, e.Outcome)
	}
	want := e.Reason
	if transport == "http" && e.ReasonHTTP != "" {
		want = e.ReasonHTTP
	}
	if want != "" && got.reason != want {
		return Failed, fmt.Sprintf("reason %q, want %q", got.reason, want)
	}
	if e.Status != 0 && got.status != e.Status {
		return Failed, fmt.Sprintf("HTTP status %d, want %d", got.status, e.Status)
	}
	for _, s := range e.InReply {
		if !bytes.Contains(got.body, []byte(s)) {
			return Failed, fmt.Sprintf("the reply lacks %q", s)
		}
	}
	return Passed, ""
}

// viaHTTP sends a case over HTTP.
func (r *runner) viaHTTP(ctx context.Context, c *Case, msgs []string, data tmplData) (reply, error) {
	h := c.HTTP
	if h != nil && h.Raw != "" {
		raw, err := expand(h.Raw, data)
		if err != nil {
			return reply{}, err
		}
		hr, err := r.t.raw(strings.ReplaceAll(raw, "\n", "\r\n"))
		if err != nil {
			return reply{}, err
		}
		if hr.status == 0 {
			return reply{outcome: OutcomeNone}, nil // no answer at all
		}
		out, reason := readHTTP(hr)
		r.tally(out, reason)
		return reply{status: hr.status, body: hr.body, outcome: out, reason: reason}, nil
	}
	method, path := http.MethodPost, "/mcp"
	if h != nil && h.Method != "" {
		method = h.Method
	}
	if h != nil && h.Path != "" {
		var err error
		if path, err = expand(h.Path, data); err != nil {
			return reply{}, err
		}
	}
	var session string
	if h != nil && h.Session != "" {
		owner := c.As
		if h.Session == "other" {
			owner = "other"
		}
		s, err := r.openSession(ctx, owner)
		if err != nil {
			return reply{}, fmt.Errorf("open a session: %w", err)
		}
		session = s
	}
	if h != nil && h.HoldStreams > 0 {
		release, err := r.holdStreams(ctx, c.As, session, h.HoldStreams)
		defer release()
		if err != nil {
			return reply{}, err
		}
	}
	if len(msgs) == 0 {
		msgs = []string{""} // a GET or DELETE without a body
	}
	var last reply
	repeat := max(c.Repeat, 1)
	for i := range repeat {
		for _, m := range msgs {
			hdr := http.Header{}
			hdr.Set("Content-Type", "application/json")
			hdr.Set("Accept", "application/json, text/event-stream")
			if key, ok := r.t.Key(c.As); ok {
				hdr.Set("Authorization", "Bearer "+key)
			}
			if session == "" {
				setModernHeaders(hdr, m)
			} else {
				hdr.Set("Mcp-Protocol-Version", "2025-11-25")
				hdr.Set("Mcp-Session-Id", session)
			}
			if h != nil {
				for k, v := range h.Headers {
					if v == "-" {
						hdr.Del(k)
						continue
					}
					v, err := expand(v, data)
					if err != nil {
						return reply{}, err
					}
					hdr.Set(k, v)
				}
			}
			hr, err := r.t.post(ctx, r.client, method, path, []byte(m), hdr)
			if err != nil {
				if i < repeat-1 {
					continue
				}
				return reply{}, err
			}
			out, reason := readHTTP(hr)
			if hr.status == http.StatusAccepted && len(bytes.TrimSpace(hr.body)) == 0 {
				out = OutcomeNone
			}
			r.tally(out, reason)
			last = reply{status: hr.status, body: hr.body, outcome: out, reason: reason}
		}
	}
	return last, nil
}

// holdStreams opens n GET streams on session as principal as, and returns
// once each has its response head; release closes them.
func (r *runner) holdStreams(ctx context.Context, as, session string, n int) (release func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var bodies []io.Closer
	release = func() {
		cancel()
		for _, b := range bodies {
			b.Close()
		}
	}
	key, _ := r.t.Key(as)
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.t.url, nil)
		if err != nil {
			return release, err
		}
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		req.Header.Set("Mcp-Session-Id", session)
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			return release, fmt.Errorf("hold a GET stream: %w", err)
		}
		bodies = append(bodies, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return release, fmt.Errorf("hold a GET stream: HTTP %d", resp.StatusCode)
		}
	}
	return release, nil
}

// setModernHeaders sets the protocol 2026-07-28 headers a message needs.
func setModernHeaders(hdr http.Header, msg string) {
	hdr.Set("Mcp-Protocol-Version", "2026-07-28")
	var m struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal([]byte(msg), &m) == nil && m.Method != "" {
		hdr.Set("Mcp-Method", m.Method)
		// A name no header can carry (control characters) is left out,
		// as a client must; the broker then refuses the request for it.
		if m.Method == "tools/call" && validHeaderValue(m.Params.Name) {
			hdr.Set("Mcp-Name", m.Params.Name)
		}
	}
}

// validHeaderValue reports whether net/http sends v as a header value.
func validHeaderValue(v string) bool {
	for _, r := range v {
		if r < ' ' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// openSession opens a legacy (2025-11-25) session as principal as.
func (r *runner) openSession(ctx context.Context, as string) (string, error) {
	key, _ := r.t.Key(as)
	body := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"toolwarden-redteam","version":"1"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.t.url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := r.client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		return "", fmt.Errorf("initialize: HTTP %d and no session id", resp.StatusCode)
	}
	return sid, nil
}

// viaStdio sends a case over stdio.
func (r *runner) viaStdio(c *Case, msgs []string) (reply, error) {
	p, err := r.t.stdioFor(c.As)
	if err != nil {
		return reply{}, err
	}
	var last reply
	repeat := max(c.Repeat, 1)
	for range repeat {
		for _, m := range msgs {
			wantReply := c.Expect.Outcome != OutcomeNone
			line, err := p.exchange(m, wantReply, r.opts.Timeout)
			if err != nil {
				return reply{}, err
			}
			if !wantReply {
				last = reply{outcome: OutcomeNone}
				continue
			}
			out, reason := read(line)
			r.tally(out, reason)
			last = reply{body: line, outcome: out, reason: reason}
		}
	}
	return last, nil
}

// alive checks that the broker still serves the caller of the last case.
func (r *runner) alive(ctx context.Context, tr, as string) error {
	probe := `{"jsonrpc":"2.0","id":"alive","method":"tools/list","params":{"_meta":` + modernMeta + `}}`
	if tr == "stdio" {
		if _, ok := r.t.Key(as); !ok {
			return nil
		}
		p, err := r.t.stdioFor(as)
		if err != nil {
			return err
		}
		line, err := p.exchange(probe, true, r.opts.Timeout)
		if err != nil {
			return err
		}
		if !bytes.Contains(line, []byte(`"tools"`)) {
			return fmt.Errorf("tools/list answered %s", clip(string(line), 200))
		}
		return nil
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	key, ok := r.t.keys["admin"]
	if !ok {
		key = r.t.keys["analyst"]
	}
	hdr.Set("Authorization", "Bearer "+key)
	setModernHeaders(hdr, probe)
	hr, err := r.t.post(ctx, r.client, http.MethodPost, "/mcp", []byte(probe), hdr)
	if err != nil {
		return err
	}
	if hr.status != http.StatusOK || !bytes.Contains(hr.body, []byte(`"tools"`)) {
		return fmt.Errorf("tools/list answered %d %s", hr.status, clip(string(hr.body), 200))
	}
	return nil
}

// checkAudit reads the target's audit log: it must verify, hold no canary,
// and record every refusal the corpus caused, one by one or summed up.
func (r *runner) checkAudit(ctx context.Context, rep *Report) error {
	recorded := map[string]int{}
	logs := r.t.Audits()
	if len(logs) == 0 {
		return nil
	}
	rep.AuditChecked = true
	for _, log := range logs {
		if _, err := audit.Verify(log, audit.VerifyConfig{}); err != nil {
			return fmt.Errorf("redteam: the audit log %s does not verify: %w", log, err)
		}
		data, err := os.ReadFile(log)
		if err != nil {
			return err
		}
		for _, canary := range r.t.Canaries() {
			if bytes.Contains(data, []byte(canary)) {
				return fmt.Errorf("redteam: the audit log %s holds a canary secret", log)
			}
		}
		err = query.Records(ctx, log, query.Filter{}, func(rec *audit.Record) error {
			switch rec.Event {
			case "":
				recorded[rec.Reason]++
			case audit.EventRefusals:
				recorded[rec.Reason] += rec.Repeats
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// A caller refused for want of a role is told the tool is not found,
	// as it is for a tool that does not exist (denied.unknown_tool): the
	// log says which.
	recorded["denied.unknown_tool"] += recorded["denied.role"]
	var reasons []string
	for reason := range r.refusals {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		ac := AuditCount{Reason: reason, Refused: r.refusals[reason], Recorded: recorded[reason]}
		rep.Audit = append(rep.Audit, ac)
		if ac.Recorded < ac.Refused {
			rep.Results = append(rep.Results, Result{Category: "audit", Name: "every refusal recorded: " + reason, Verdict: Unsafe,
				Detail: fmt.Sprintf("%d refusals, %d recorded", ac.Refused, ac.Recorded)})
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
