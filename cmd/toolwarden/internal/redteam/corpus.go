package redteam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/goccy/go-yaml"
)

// Case is one adversarial exchange and what must come of it. A corpus
// file (*.yaml) holds a list of cases; its name, less the extension, is
// their category.
type Case struct {
	// Name says what the case tries. Required, unique in its file.
	Name string `yaml:"name"`
	// Category is the file's name; set by Load.
	Category string `yaml:"-"`
	// Transport is "both" (the default), "http" or "stdio".
	Transport string `yaml:"transport"`
	// As is the caller: a principal the harness made a key for
	// ("analyst", the default; "admin"; "hostile"; "other", a second
	// analyst), or "none" (no credential), "invalid" (a well-formed key
	// nobody issued) or "garbage" (not a key at all).
	As string `yaml:"as"`
	// Requires names what the case needs: "isolation" (plugin processes
	// can be confined here) or "lure" (the harness serves its lure at
	// LureAddr). A case whose need is not met is skipped, loudly.
	Requires string `yaml:"requires"`
	// Send is the messages to send, as they are (each a template: see
	// Load); the last one's reply is judged.
	Send []string `yaml:"send"`
	// Call is a tools/call the harness writes for the transport.
	Call *Call `yaml:"call"`
	// HTTP shapes the HTTP request (http only).
	HTTP *HTTP `yaml:"http"`
	// Repeat sends the request this many times (a flood); the last reply
	// is judged. Zero means once.
	Repeat int `yaml:"repeat"`
	// Expect is what must come of it.
	Expect Expect `yaml:"expect"`
}

// Call is a tools/call.
type Call struct {
	Tool string `yaml:"tool"`
	// Arguments is the arguments object, as YAML.
	Arguments map[string]any `yaml:"arguments"`
	// Raw is the arguments' JSON text, sent as it is (a template).
	Raw string `yaml:"raw"`
}

// HTTP shapes a case's HTTP request.
type HTTP struct {
	// Method is the HTTP method; "" means POST.
	Method string `yaml:"method"`
	// Path is the request path; "" means /mcp.
	Path string `yaml:"path"`
	// Headers are set on the request (each value a template); a value of
	// "-" removes the header.
	Headers map[string]string `yaml:"headers"`
	// Raw is written as it is on a fresh TCP connection, request line,
	// head and all (a template: {{.Host}} and {{.Key}} are filled in).
	Raw string `yaml:"raw"`
	// Session is "" (none), "own" (a legacy session the caller opened with
	// initialize) or "other" (one another principal opened).
	Session string `yaml:"session"`
	// HoldStreams opens this many GET streams on the caller's own session
	// first and holds them open while the request is sent (a stream
	// flood); it needs session "own".
	HoldStreams int `yaml:"holdStreams"`
}

// Expect is what must come of a case.
type Expect struct {
	// Outcome is "refused" (the default: an error reply or an isError
	// result), "allowed" (a result, unmarked), "contained" (a result the
	// sandbox had to contain), "redacted" or "flagged" (a result output
	// screening changed or marked), "failed" (the call ran and failed), or
	// "none" (no reply: a notification).
	Outcome string `yaml:"outcome"`
	// Reason is the reason code the reply must carry; "" accepts any.
	Reason string `yaml:"reason"`
	// ReasonHTTP, if set, replaces Reason over HTTP (where the transport
	// refuses some requests before the broker reads them).
	ReasonHTTP string `yaml:"reasonHTTP"`
	// Status is the HTTP status (http only); 0 accepts any.
	Status int `yaml:"status"`
	// NotInReply and InReply are strings the reply must not, or must,
	// hold.
	NotInReply []string `yaml:"notInReply"`
	InReply    []string `yaml:"inReply"`
}

// Outcomes of Expect.Outcome.
const (
	OutcomeRefused   = "refused"
	OutcomeAllowed   = "allowed"
	OutcomeContained = "contained"
	OutcomeRedacted  = "redacted"
	OutcomeFlagged   = "flagged"
	OutcomeFailed    = "failed"
	OutcomeNone      = "none"
)

// Load reads every *.yaml file of dir as a list of cases, strictly
// (unknown fields are errors), and checks them.
func Load(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("corpus %s: no *.yaml files", dir)
	}
	sort.Strings(files)
	var all []Case
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var cases []Case
		dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField(), yaml.Strict())
		if err := dec.Decode(&cases); errors.Is(err, io.EOF) || err == nil && len(cases) == 0 {
			return nil, fmt.Errorf("corpus %s: no cases (want a YAML list of cases)", f)
		} else if err != nil {
			return nil, fmt.Errorf("corpus %s: %s", f, yaml.FormatError(err, false, true))
		}
		cat := strings.TrimSuffix(filepath.Base(f), ".yaml")
		seen := map[string]bool{}
		for i := range cases {
			c := &cases[i]
			c.Category = cat
			if err := c.check(); err != nil {
				return nil, fmt.Errorf("corpus %s: case %d (%q): %w", f, i+1, c.Name, err)
			}
			if seen[c.Name] {
				return nil, fmt.Errorf("corpus %s: case %q twice", f, c.Name)
			}
			seen[c.Name] = true
		}
		all = append(all, cases...)
	}
	return all, nil
}

func (c *Case) check() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("name: required")
	case len(c.Send) == 0 && c.Call == nil && (c.HTTP == nil || c.HTTP.Raw == "" && c.HTTP.Method != "GET" && c.HTTP.Method != "DELETE"):
		return fmt.Errorf("nothing to send: set send, call or http.raw (only a GET or DELETE may have no body)")
	case c.HTTP != nil && c.HTTP.HoldStreams != 0 && (c.HTTP.HoldStreams < 0 || c.HTTP.Session != "own"):
		return fmt.Errorf("http.holdStreams: a positive count, on session own")
	case len(c.Send) > 0 && c.Call != nil:
		return fmt.Errorf("send and call: set one")
	}
	switch c.Requires {
	case "", "isolation", "lure":
	default:
		return fmt.Errorf("requires %q: want isolation or lure", c.Requires)
	}
	if c.Transport == "" {
		c.Transport = "both"
	}
	switch c.Transport {
	case "both", "http", "stdio":
	default:
		return fmt.Errorf("transport %q: want both, http or stdio", c.Transport)
	}
	if c.HTTP != nil && c.Transport == "both" {
		c.Transport = "http"
	}
	if c.As == "" {
		c.As = "analyst"
	}
	if _, ok := principals[c.As]; !ok && c.As != "none" && c.As != "invalid" && c.As != "garbage" {
		return fmt.Errorf("as %q: want a principal (analyst, other, admin, hostile, expired) or none, invalid or garbage", c.As)
	}
	if c.Repeat < 0 {
		return fmt.Errorf("repeat %d: want a positive count, or none", c.Repeat)
	}
	if c.HTTP != nil && c.Transport == "stdio" {
		return fmt.Errorf("http shapes an HTTP request: it needs transport http")
	}
	if c.Expect.Outcome == "" {
		c.Expect.Outcome = OutcomeRefused
	}
	switch c.Expect.Outcome {
	case OutcomeRefused, OutcomeAllowed, OutcomeContained, OutcomeRedacted, OutcomeFlagged, OutcomeFailed, OutcomeNone:
	default:
		return fmt.Errorf("expect.outcome %q is not an outcome", c.Expect.Outcome)
	}
	if c.Transport == "stdio" && c.Expect.Status != 0 {
		return fmt.Errorf("expect.status is for http")
	}
	return nil
}

// funcs are the template functions of a case's strings.
var funcs = template.FuncMap{
	// repeat writes s n times: {{repeat "[" 200}}.
	"repeat": strings.Repeat,
	// bytes writes n bytes of 'a': {{bytes 5242880}}.
	"bytes": func(n int) string { return strings.Repeat("a", n) },
	// byte writes one raw byte, valid UTF-8 or not: {{byte 255}}.
	"byte": func(n int) string { return string([]byte{byte(n)}) },
}

// expand fills in a case string's template.
func expand(s string, data any) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	t, err := template.New("").Funcs(funcs).Option("missingkey=error").Parse(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// callMessage writes the tools/call of c with id, in protocol 2026-07-28.
func callMessage(c *Call, id int, data any) (string, error) {
	args := "{}"
	switch {
	case c.Raw != "":
		var err error
		if args, err = expand(c.Raw, data); err != nil {
			return "", err
		}
	case c.Arguments != nil:
		b, err := json.Marshal(c.Arguments)
		if err != nil {
			return "", err
		}
		args = string(b)
	}
	name, _ := json.Marshal(c.Tool)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%s,"arguments":%s,"_meta":%s}}`, id, name, args, modernMeta), nil
}

// modernMeta is the _meta of a protocol 2026-07-28 request.
const modernMeta = `{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"toolwarden-redteam","version":"1"}}`
