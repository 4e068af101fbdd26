package redteam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeCorpus writes files (name → content) to a fresh directory and
// returns it.
func writeCorpus(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDefaults(t *testing.T) {
	dir := writeCorpus(t, map[string]string{
		"auth.yaml": `
- name: plain call
  call: {tool: echo, arguments: {text: hi}}
- name: shaped over http
  call: {tool: echo, arguments: {text: hi}}
  http: {headers: {X-Test: "1"}}
- name: raw http only
  http: {raw: "GET /mcp HTTP/1.1\nHost: {{.Host}}\n\n"}
- name: explicit
  transport: stdio
  as: admin
  send: ['{"jsonrpc":"2.0","id":1,"method":"tools/list"}']
  expect: {outcome: allowed, reason: x.y}
`,
		"egress.yaml": `
- name: plain call
  call: {tool: fetch, raw: '{"url":"http://169.254.169.254/"}'}
`,
		"notes.txt": "not a corpus file",
	})
	cases, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	type got struct{ Category, Name, Transport, As, Outcome, Reason string }
	want := []got{
		{"auth", "plain call", "both", "analyst", OutcomeRefused, ""},
		{"auth", "shaped over http", "http", "analyst", OutcomeRefused, ""},
		{"auth", "raw http only", "http", "analyst", OutcomeRefused, ""},
		{"auth", "explicit", "stdio", "admin", OutcomeAllowed, "x.y"},
		// The same name in another file is another case.
		{"egress", "plain call", "both", "analyst", OutcomeRefused, ""},
	}
	var have []got
	for _, c := range cases {
		have = append(have, got{c.Category, c.Name, c.Transport, c.As, c.Expect.Outcome, c.Expect.Reason})
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("Load cases =\n%+v\nwant\n%+v", have, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{
			name:  "unknown field",
			files: map[string]string{"bad.yaml": "- name: x\n  call: {tool: echo}\n  colour: red\n"},
			want:  []string{"bad.yaml", "colour"},
		},
		{
			name:  "unknown field in expect",
			files: map[string]string{"bad.yaml": "- name: x\n  call: {tool: echo}\n  expect: {reson: denied.role}\n"},
			want:  []string{"bad.yaml", "reson"},
		},
		{
			name:  "duplicate name in one file",
			files: map[string]string{"dup.yaml": "- name: twin\n  call: {tool: echo}\n- name: twin\n  call: {tool: other}\n"},
			want:  []string{"dup.yaml", "twin"},
		},
		{
			name:  "no name",
			files: map[string]string{"anon.yaml": "- call: {tool: echo}\n"},
			want:  []string{"anon.yaml", "name"},
		},
		{
			name:  "nothing to send",
			files: map[string]string{"empty.yaml": "- name: idle\n  expect: {outcome: allowed}\n"},
			want:  []string{"empty.yaml", "idle"},
		},
		{
			name:  "a POST without a body is nothing to send",
			files: map[string]string{"empty.yaml": "- name: idle\n  http: {method: POST}\n"},
			want:  []string{"empty.yaml", "idle"},
		},
		{
			name:  "holdStreams without own session",
			files: map[string]string{"hold.yaml": "- name: hold\n  http: {method: GET, holdStreams: 8}\n"},
			want:  []string{"hold.yaml", "holdStreams"},
		},
		{
			name:  "send and call",
			files: map[string]string{"both.yaml": "- name: greedy\n  send: ['{}']\n  call: {tool: echo}\n"},
			want:  []string{"both.yaml", "greedy"},
		},
		{
			name:  "bad outcome",
			files: map[string]string{"out.yaml": "- name: x\n  call: {tool: echo}\n  expect: {outcome: denied}\n"},
			want:  []string{"out.yaml", "denied"},
		},
		{
			name:  "bad transport",
			files: map[string]string{"tr.yaml": "- name: x\n  transport: carrier-pigeon\n  call: {tool: echo}\n"},
			want:  []string{"tr.yaml", "carrier-pigeon"},
		},
		{
			name:  "status over stdio",
			files: map[string]string{"st.yaml": "- name: x\n  transport: stdio\n  call: {tool: echo}\n  expect: {status: 403}\n"},
			want:  []string{"st.yaml", "status"},
		},
		{
			name:  "unknown principal",
			files: map[string]string{"as.yaml": "- name: x\n  as: analsyt\n  call: {tool: echo}\n"},
			want:  []string{"as.yaml", "analsyt"},
		},
		{
			name:  "negative repeat",
			files: map[string]string{"rp.yaml": "- name: x\n  repeat: -3\n  call: {tool: echo}\n"},
			want:  []string{"rp.yaml", "repeat"},
		},
		{
			name:  "http shape over stdio",
			files: map[string]string{"hs.yaml": "- name: x\n  transport: stdio\n  http: {method: PUT}\n  call: {tool: echo}\n"},
			want:  []string{"hs.yaml", "transport http"},
		},
		{
			name:  "an empty list",
			files: map[string]string{"empty.yaml": "[]\n"},
			want:  []string{"empty.yaml", "no cases"},
		},
		{
			name: "one bad file among good ones",
			files: map[string]string{
				"a.yaml": "- name: x\n  call: {tool: echo}\n",
				"b.yaml": "- name: x\n  call: {tool: echo}\n  expect: {outcome: maybe}\n",
			},
			want: []string{"b.yaml", "maybe"},
		},
		{
			name:  "no yaml files",
			files: map[string]string{"cases.yml": "- name: x\n  call: {tool: echo}\n", "README": "hi"},
			want:  []string{"no *.yaml"},
		},
		{
			name:  "empty directory",
			files: map[string]string{},
			want:  []string{"no *.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCorpus(t, tt.files)
			cases, err := Load(dir)
			if err == nil {
				t.Fatalf("Load = %d cases, nil error; want an error holding %q", len(cases), tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error = %q, want it to hold %q", err, w)
				}
			}
		})
	}
}

func TestRead(t *testing.T) {
	result := func(isError bool, reason string) string {
		meta := ""
		if reason != "" {
			meta = `,"_meta":{"toolwarden.dev/reason":"` + reason + `"}`
		}
		b, _ := json.Marshal(isError)
		return `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x"}],"isError":` + string(b) + meta + `}}`
	}
	tests := []struct {
		name        string
		body        string
		wantOutcome string
		wantReason  string
	}{
		{"error with reason", `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no","data":{"reason":"denied.schema"}}}`, OutcomeRefused, "denied.schema"},
		{"error without data", `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"no"}}`, OutcomeRefused, ""},
		{"isError sandbox.timeout", result(true, "sandbox.timeout"), OutcomeFailed, "sandbox.timeout"},
		{"isError tool family", result(true, "tool.crashed"), OutcomeFailed, "tool.crashed"},
		{"isError output.too_large", result(true, "output.too_large"), OutcomeFailed, "output.too_large"},
		{"isError denied.role", result(true, "denied.role"), OutcomeRefused, "denied.role"},
		{"isError without reason", result(true, ""), OutcomeRefused, ""},
		{"contained", result(false, "sandbox.contained"), OutcomeContained, "sandbox.contained"},
		{"redacted", result(false, "output.redacted"), OutcomeRedacted, "output.redacted"},
		{"flagged", result(false, "output.flagged"), OutcomeFlagged, "output.flagged"},
		{"plain result", result(false, ""), OutcomeAllowed, ""},
		{"plain result with surrounding space", "\n  " + result(false, "") + "\r\n", OutcomeAllowed, ""},
		{"neither result nor error", `{"jsonrpc":"2.0","id":1}`, OutcomeRefused, ""},
		{"unparsable", `{"jsonrpc":"2.0",`, OutcomeRefused, ""},
		{"plain text", "Not Implemented", OutcomeRefused, ""},
		{"empty", "", OutcomeRefused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, reason := read([]byte(tt.body))
			if outcome != tt.wantOutcome || reason != tt.wantReason {
				t.Errorf("read(%q) = %q, %q; want %q, %q", tt.body, outcome, reason, tt.wantOutcome, tt.wantReason)
			}
		})
	}
}

func TestReadHTTP(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantOutcome string
		wantReason  string
	}{
		{"net/http 501 in plain text", 501, "Not Implemented\n", OutcomeRefused, "protocol.bad_request"},
		{"net/http 400 in plain text", 400, "400 Bad Request: malformed Host header", OutcomeRefused, "protocol.bad_request"},
		{"net/http 431 empty body", 431, "", OutcomeRefused, "protocol.bad_request"},
		{"broker error keeps its reason", 401, `{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"no","data":{"reason":"auth.missing"}}}`, OutcomeRefused, "auth.missing"},
		{"JSON error without reason is not relabelled", 404, `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"no"}}`, OutcomeRefused, ""},
		{"200 result", 200, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, OutcomeAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, reason := readHTTP(httpReply{status: tt.status, body: []byte(tt.body)})
			if outcome != tt.wantOutcome || reason != tt.wantReason {
				t.Errorf("readHTTP(%d, %q) = %q, %q; want %q, %q", tt.status, tt.body, outcome, reason, tt.wantOutcome, tt.wantReason)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name      string
		expect    Expect
		transport string
		got       reply
		want      string
	}{
		{
			name:   "allowed where refused expected",
			expect: Expect{Outcome: OutcomeRefused, Reason: "denied.role"},
			got:    reply{outcome: OutcomeAllowed, body: []byte(`{"result":{}}`)},
			want:   Unsafe,
		},
		{
			name:   "refused where allowed expected",
			expect: Expect{Outcome: OutcomeAllowed},
			got:    reply{outcome: OutcomeRefused, reason: "denied.role"},
			want:   Failed,
		},
		{
			name:   "failed where refused expected",
			expect: Expect{Outcome: OutcomeRefused},
			got:    reply{outcome: OutcomeFailed, reason: "sandbox.timeout"},
			want:   Failed,
		},
		{
			name:   "no reply where refused expected",
			expect: Expect{Outcome: OutcomeRefused},
			got:    reply{outcome: OutcomeNone},
			want:   Failed,
		},
		{
			name:   "wrong reason",
			expect: Expect{Outcome: OutcomeRefused, Reason: "denied.role"},
			got:    reply{outcome: OutcomeRefused, reason: "denied.schema"},
			want:   Failed,
		},
		{
			name:   "any reason accepted",
			expect: Expect{Outcome: OutcomeRefused},
			got:    reply{outcome: OutcomeRefused, reason: "denied.schema"},
			want:   Passed,
		},
		{
			name:      "reasonHTTP over http",
			expect:    Expect{Outcome: OutcomeRefused, Reason: "denied.unknown_tool", ReasonHTTP: "protocol.headers"},
			transport: "http",
			got:       reply{outcome: OutcomeRefused, reason: "protocol.headers"},
			want:      Passed,
		},
		{
			name:      "reason over http when reasonHTTP is set",
			expect:    Expect{Outcome: OutcomeRefused, Reason: "denied.unknown_tool", ReasonHTTP: "protocol.headers"},
			transport: "http",
			got:       reply{outcome: OutcomeRefused, reason: "denied.unknown_tool"},
			want:      Failed,
		},
		{
			name:      "reason over stdio when reasonHTTP is set",
			expect:    Expect{Outcome: OutcomeRefused, Reason: "denied.unknown_tool", ReasonHTTP: "protocol.headers"},
			transport: "stdio",
			got:       reply{outcome: OutcomeRefused, reason: "denied.unknown_tool"},
			want:      Passed,
		},
		{
			name:      "reasonHTTP over stdio",
			expect:    Expect{Outcome: OutcomeRefused, Reason: "denied.unknown_tool", ReasonHTTP: "protocol.headers"},
			transport: "stdio",
			got:       reply{outcome: OutcomeRefused, reason: "protocol.headers"},
			want:      Failed,
		},
		{
			name:   "notInReply present",
			expect: Expect{Outcome: OutcomeAllowed, NotInReply: []string{"AKIA"}},
			got:    reply{outcome: OutcomeAllowed, body: []byte(`{"result":{"content":[{"text":"key AKIA123"}]}}`)},
			want:   Unsafe,
		},
		{
			name:   "notInReply absent",
			expect: Expect{Outcome: OutcomeAllowed, NotInReply: []string{"AKIA"}},
			got:    reply{outcome: OutcomeAllowed, body: []byte(`{"result":{"content":[{"text":"nothing"}]}}`)},
			want:   Passed,
		},
		{
			name:   "inReply missing",
			expect: Expect{Outcome: OutcomeAllowed, InReply: []string{"hello"}},
			got:    reply{outcome: OutcomeAllowed, body: []byte(`{"result":{"content":[{"text":"bye"}]}}`)},
			want:   Failed,
		},
		{
			name:      "status mismatch",
			expect:    Expect{Outcome: OutcomeRefused, Status: 401},
			transport: "http",
			got:       reply{outcome: OutcomeRefused, status: 400},
			want:      Failed,
		},
		{
			name:      "any status accepted",
			expect:    Expect{Outcome: OutcomeRefused},
			transport: "http",
			got:       reply{outcome: OutcomeRefused, status: 403},
			want:      Passed,
		},
		{
			name: "all matching",
			expect: Expect{
				Outcome: OutcomeFlagged, Reason: "output.flagged", Status: 200,
				NotInReply: []string{"root:x:0:0:"}, InReply: []string{"hello"},
			},
			transport: "http",
			got:       reply{outcome: OutcomeFlagged, reason: "output.flagged", status: 200, body: []byte(`{"result":{"content":[{"text":"hello"}]}}`)},
			want:      Passed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			transport := tt.transport
			if transport == "" {
				transport = "stdio"
			}
			c := &Case{Name: tt.name, Expect: tt.expect}
			verdict, detail := judge(c, transport, tt.got)
			if verdict != tt.want {
				t.Errorf("judge over %s = %q (%s), want %q", transport, verdict, detail, tt.want)
			}
			if verdict != Passed && detail == "" {
				t.Errorf("judge over %s = %q with no detail; want one saying why", transport, verdict)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	data := tmplData{Host: "127.0.0.1:4000", Key: "tw_key"}
	tests := []struct {
		name    string
		s       string
		data    any
		want    string
		wantErr bool
	}{
		{name: "repeat", s: `{{repeat "[" 3}}`, want: "[[["},
		{name: "bytes", s: `x{{bytes 4}}y`, want: "xaaaay"},
		{name: "byte 255 is one raw byte", s: `{{byte 255}}`, want: "\xff"},
		{name: "byte 0", s: `a{{byte 0}}b`, want: "a\x00b"},
		{name: "fields", s: `Host: {{.Host}} Bearer {{.Key}}`, data: data, want: "Host: 127.0.0.1:4000 Bearer tw_key"},
		{name: "missing field", s: `{{.Nope}}`, data: data, wantErr: true},
		{name: "missing map key", s: `{{.Nope}}`, data: map[string]string{"Host": "h"}, wantErr: true},
		{name: "unparsable", s: `{{repeat "[" }`, wantErr: true},
		{name: "no template", s: `{"a":"}}","b":"{ {.Host}}"}`, data: data, want: `{"a":"}}","b":"{ {.Host}}"}`},
		{name: "no template, no data", s: "plain\n", want: "plain\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.s, tt.data)
			if tt.wantErr {
				if err == nil {
					t.Errorf("expand(%q) = %q, nil error; want an error", tt.s, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("expand(%q): %v", tt.s, err)
			}
			if got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestCallMessage(t *testing.T) {
	tests := []struct {
		name     string
		call     Call
		wantArgs string // the arguments' JSON text, as it must appear
		wantJSON any    // the arguments, decoded
	}{
		{
			name:     "raw sent as given",
			call:     Call{Tool: "echo", Raw: `{"b":1,  "a":[2]}`},
			wantArgs: `"arguments":{"b":1,  "a":[2]}`,
			wantJSON: map[string]any{"a": []any{2.0}, "b": 1.0},
		},
		{
			name:     "raw expanded",
			call:     Call{Tool: "echo", Raw: `{"pad":"{{bytes 3}}{{.Key}}"}`},
			wantArgs: `"arguments":{"pad":"aaatw_key"}`,
			wantJSON: map[string]any{"pad": "aaatw_key"},
		},
		{
			name:     "raw not an object",
			call:     Call{Tool: "echo", Raw: `[1]`},
			wantArgs: `"arguments":[1]`,
			wantJSON: []any{1.0},
		},
		{
			name:     "arguments encoded",
			call:     Call{Tool: "echo", Arguments: map[string]any{"text": "a\"b\n", "n": 3, "nested": map[string]any{"k": []any{true}}}},
			wantJSON: map[string]any{"text": "a\"b\n", "n": 3.0, "nested": map[string]any{"k": []any{true}}},
		},
		{
			name:     "no arguments",
			call:     Call{Tool: "echo"},
			wantArgs: `"arguments":{}`,
			wantJSON: map[string]any{},
		},
		{
			name:     "hostile tool name",
			call:     Call{Tool: "echo\"}\n{\"decision\":\"allow", Arguments: map[string]any{"text": "x"}},
			wantJSON: map[string]any{"text": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := callMessage(&tt.call, 7, tmplData{Key: "tw_key"})
			if err != nil {
				t.Fatalf("callMessage: %v", err)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("callMessage = %q, holds a raw newline; want one line", msg)
			}
			if tt.wantArgs != "" && !strings.Contains(msg, tt.wantArgs) {
				t.Errorf("callMessage = %q, want it to hold %q", msg, tt.wantArgs)
			}
			var m struct {
				JSONRPC string `json:"jsonrpc"`
				ID      int    `json:"id"`
				Method  string `json:"method"`
				Params  struct {
					Name      string         `json:"name"`
					Arguments any            `json:"arguments"`
					Meta      map[string]any `json:"_meta"`
				} `json:"params"`
			}
			dec := json.NewDecoder(strings.NewReader(msg))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("callMessage = %q, not one valid JSON message: %v", msg, err)
			}
			if dec.More() {
				t.Errorf("callMessage = %q, more than one JSON value", msg)
			}
			if m.JSONRPC != "2.0" || m.ID != 7 || m.Method != "tools/call" {
				t.Errorf("callMessage jsonrpc, id, method = %q, %d, %q; want 2.0, 7, tools/call", m.JSONRPC, m.ID, m.Method)
			}
			if m.Params.Name != tt.call.Tool {
				t.Errorf("callMessage params.name = %q, want %q", m.Params.Name, tt.call.Tool)
			}
			if !reflect.DeepEqual(m.Params.Arguments, tt.wantJSON) {
				t.Errorf("callMessage params.arguments = %#v, want %#v", m.Params.Arguments, tt.wantJSON)
			}
			if v := m.Params.Meta["io.modelcontextprotocol/protocolVersion"]; v != "2026-07-28" {
				t.Errorf("callMessage params._meta protocolVersion = %v, want 2026-07-28", v)
			}
		})
	}
}

func TestCallMessageRawError(t *testing.T) {
	if msg, err := callMessage(&Call{Tool: "echo", Raw: `{"a":"{{.Nope}}"}`}, 1, tmplData{}); err == nil {
		t.Errorf("callMessage with a raw naming no field = %q, nil error; want an error", msg)
	}
}

// TestCallMessageFromYAML checks that arguments as Load decodes them
// (nested YAML maps and lists) encode as JSON.
func TestCallMessageFromYAML(t *testing.T) {
	dir := writeCorpus(t, map[string]string{"args.yaml": `
- name: nested
  call:
    tool: echo
    arguments:
      text: "a\u0000b"
      opts: {deep: {list: [1, two, {three: 3}]}, empty: {}}
`})
	cases, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	msg, err := callMessage(cases[0].Call, 1, tmplData{})
	if err != nil {
		t.Fatalf("callMessage: %v", err)
	}
	var m struct {
		Params struct {
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatalf("callMessage = %q, not valid JSON: %v", msg, err)
	}
	want := map[string]any{
		"text": "a\x00b",
		"opts": map[string]any{"deep": map[string]any{"list": []any{1.0, "two", map[string]any{"three": 3.0}}}, "empty": map[string]any{}},
	}
	if !reflect.DeepEqual(m.Params.Arguments, want) {
		t.Errorf("callMessage arguments = %#v, want %#v", m.Params.Arguments, want)
	}
}

// TestCorpus loads the project's own corpus: it must load, every file
// must hold cases, no case may be there twice, and every template in it
// must expand.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "examples", "redteam", "corpus")
	cases, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	if len(cases) < 150 {
		t.Errorf("Load(%s) = %d cases, want at least 150", dir, len(cases))
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	perCategory := map[string]int{}
	type key struct{ category, name string }
	seen := map[key]bool{}
	for _, c := range cases {
		perCategory[c.Category]++
		k := key{c.Category, c.Name}
		if seen[k] {
			t.Errorf("case %s/%q is in the corpus twice", c.Category, c.Name)
		}
		seen[k] = true
	}
	for _, f := range files {
		cat := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if perCategory[cat] == 0 {
			t.Errorf("corpus file %s holds no cases", f)
		}
	}
	if len(perCategory) != len(files) {
		t.Errorf("corpus has %d categories from %d files; want one per file", len(perCategory), len(files))
	}

	data := tmplData{Host: "127.0.0.1:1", Key: "tw_key", BrokerPID: 1, Meta: modernMeta}
	for _, c := range cases {
		var err error
		switch {
		case c.Call != nil:
			_, err = callMessage(c.Call, 1, data)
		default:
			for _, s := range c.Send {
				if _, err = expand(s, data); err != nil {
					break
				}
			}
		}
		if err == nil && c.HTTP != nil {
			for _, s := range append([]string{c.HTTP.Raw, c.HTTP.Path}, mapValues(c.HTTP.Headers)...) {
				if _, err = expand(s, data); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Errorf("case %s/%q does not expand: %v", c.Category, c.Name, err)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
