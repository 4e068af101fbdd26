package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Version is the ABI version this package speaks.
const Version = 1

// The wasm host module: its name and its functions.
const (
	// HostModule is the import module of the host functions.
	HostModule = "toolwarden"
	// FuncRequest is http_request_v1(req_ptr, req_len, out_ptr, out_cap)
	// -> len: it makes the [Request] of req_len bytes at req_ptr and
	// writes the [Reply] to out_ptr when it fits in out_cap bytes. It
	// returns the reply's length (larger than out_cap when it did not fit:
	// fetch it with FuncReply), or a negative [HostStatus].
	FuncRequest = "http_request_v1"
	// FuncReply is http_reply_v1(out_ptr, out_cap) -> len: it copies the
	// reply of the last FuncRequest that did not fit, once.
	FuncReply = "http_reply_v1"
)

// Negative results of the host functions.
const (
	HostFault    = -1 // a pointer or length outside the module's memory
	HostNoReply  = -2 // FuncReply with no reply waiting
	HostTooSmall = -3 // FuncReply's buffer is smaller than the reply, which is kept
)

// EgressSocketEnv names the environment variable that holds, for a
// plugin, the path of the broker's egress proxy socket inside its
// sandbox. The proxy takes a [Request] as the body of
// POST http://egress/v1/request and answers with a [Reply].
const EgressSocketEnv = "TOOLWARDEN_EGRESS_SOCKET"

// Request is a request a tool asks the broker to make.
type Request struct {
	// Method is GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS; "" means
	// GET.
	Method string `json:"method,omitempty"`
	// URL is an absolute http or https URL.
	URL string `json:"url"`
	// Headers are sent as given. Host, Content-Length, Transfer-Encoding,
	// Connection, Keep-Alive, TE, Trailer, Upgrade, Expect and Proxy-* are
	// refused: the broker sets framing itself. Authorization and Cookie
	// are dropped when a redirect leaves the origin.
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the request body (base64 in JSON).
	Body []byte `json:"body,omitempty"`
}

// Response is the reply to a [Request], after redirects.
type Response struct {
	// Status is the HTTP status code of the final response.
	Status int `json:"status"`
	// URL is the normalised URL of the final response.
	URL string `json:"url"`
	// Headers are the final response's headers, names in canonical form
	// ("Content-Type").
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the response body, cut at the call's response byte cap.
	Body []byte `json:"body,omitempty"`
	// Truncated reports that Body was cut; the [Reply] then also carries
	// an egress.response_too_large [Error].
	Truncated bool `json:"truncated,omitempty"`
}

// Header returns the first value of the response header name, matched
// case-insensitively, or "".
func (r *Response) Header(name string) string {
	if vs, ok := r.Headers[name]; ok && len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range r.Headers {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// Reply is the broker's answer to a [Request]: a response, an error, or
// both.
type Reply struct {
	Response *Response `json:"response,omitempty"`
	Error    *Error    `json:"error,omitempty"`
}

// Error is a request the broker refused or could not complete. Code is the
// broker's reason code (egress.denied_host, egress.response_too_large,
// sandbox.egress_denied, ...); the same code is in the call's audit
// record.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ReasonCode returns the reason code.
func (e *Error) ReasonCode() string { return e.Code }

// maxRequestDepth bounds nesting in a request: {"headers":{"k":["v"]}} is 3.
const maxRequestDepth = 8

// DecodeRequest decodes one request strictly (see strictjson.Unmarshal):
// one JSON object with exactly the member names of [Request],
// case-sensitive, each at most once; no two header names that differ only
// in case (they are one header given twice, and which value won would be
// up to the transport); valid UTF-8; nothing after the object. Its
// messages are safe to show the tool.
func DecodeRequest(data []byte) (Request, error) {
	var req Request
	if err := strictjson.Unmarshal(data, &req, strictjson.Limits{MaxBytes: len(data), MaxDepth: maxRequestDepth}); err != nil {
		return Request{}, fmt.Errorf("the request is not valid: %w", err)
	}
	return req, nil
}

// DecodeReply decodes a [Reply] strictly.
func DecodeReply(data []byte) (Reply, error) {
	var rep Reply
	if err := strictjson.Unmarshal(data, &rep, strictjson.Limits{MaxBytes: len(data), MaxDepth: maxRequestDepth}); err != nil {
		return Reply{}, fmt.Errorf("the broker's reply is not valid: %w", err)
	}
	if rep.Response == nil && rep.Error == nil {
		return Reply{}, errors.New("the broker's reply has neither a response nor an error")
	}
	return rep, nil
}

// Envelope is a parsed tool reply: either Result holds the raw bytes of
// the "result" value, or IsError is set and Error holds the tool's
// message.
type Envelope struct {
	Result  []byte
	Error   string
	IsError bool
}

// maxDepth bounds nesting in tool output, as encoding/json does.
const maxDepth = 10000

// ParseEnvelope parses a tool's output: exactly one JSON object,
// optionally surrounded by whitespace, valid UTF-8, with exactly one
// member, "result" (any value) or "error" (a string), and no duplicate
// keys at any depth, so every later reader of the result sees the same
// object.
//
// The output is checked in one pass by strictjson (about 250 MB/s, no
// allocation), then its single member is located in the checked bytes.
func ParseEnvelope(out []byte) (Envelope, error) {
	if !utf8.Valid(out) {
		return Envelope{}, errors.New("the output is not valid UTF-8")
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return Envelope{}, errors.New("the output is empty")
	}
	if err := strictjson.Check(out, strictjson.Limits{MaxBytes: len(out), MaxDepth: maxDepth}); err != nil {
		if se, ok := errors.AsType[*strictjson.Error](err); ok && se.Code == strictjson.CodeDuplicateKey {
			return Envelope{}, fmt.Errorf("result has a duplicate key: %w", err)
		}
		return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
	}
	// out is one well-formed JSON value from here on.
	i := skipSpace(out, 0)
	if out[i] != '{' {
		return Envelope{}, errors.New("the output is not a JSON object")
	}
	i = skipSpace(out, i+1)
	if out[i] == '}' {
		return Envelope{}, errors.New("envelope has neither \"result\" nor \"error\"")
	}
	keyEnd := strictjson.SkipValue(out, i)
	var key string
	if err := strictjson.Unmarshal(out[i:keyEnd], &key, strictjson.Limits{MaxBytes: keyEnd - i}); err != nil {
		return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
	}
	if key != "result" && key != "error" {
		return Envelope{}, fmt.Errorf("envelope member %q is neither \"result\" nor \"error\"", truncate(key, 64))
	}
	start := skipSpace(out, skipSpace(out, keyEnd)+1) // past the colon
	end := strictjson.SkipValue(out, start)
	if after := skipSpace(out, end); out[after] != '}' {
		return Envelope{}, errors.New("envelope has more than one member")
	}
	raw := out[start:end]
	if key == "error" {
		var msg string
		if err := strictjson.Unmarshal(raw, &msg, strictjson.Limits{MaxBytes: len(raw)}); err != nil {
			return Envelope{}, errors.New("envelope \"error\" is not a string")
		}
		return Envelope{Error: msg, IsError: true}, nil
	}
	return Envelope{Result: bytes.Clone(raw)}, nil
}

// Result returns the envelope {"result": v}, v encoded without HTML
// escaping.
func Result(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"result":`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	b.WriteString("}")
	return b.Bytes(), nil
}

// Failure returns the envelope {"error": msg}; an empty msg becomes
// "tool failed".
func Failure(msg string) []byte {
	if msg == "" {
		msg = "tool failed"
	}
	var b bytes.Buffer
	b.WriteString(`{"error":`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(msg) // a string always encodes
	b.Truncate(b.Len() - 1)
	b.WriteString("}")
	return b.Bytes()
}

// maxPublicErrorBytes caps the tool-reported message shown to the caller.
const maxPublicErrorBytes = 1024

// PublicMessage makes a tool's error message safe to show: control and
// bidirectional-formatting characters are dropped (line breaks and tabs
// become spaces), the text is trimmed and capped at 1 KiB on a rune
// boundary.
func PublicMessage(msg string) string {
	var b strings.Builder
	for _, r := range msg {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == utf8.RuneError:
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxPublicErrorBytes {
			break
		}
		b.WriteRune(r)
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if s == "" {
		return "the tool reported an error"
	}
	return s
}

// skipSpace returns the index of the first non-whitespace byte of b at or
// after i, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Reason codes a tool can meet in an [Error]: the refusal of a whole call's
// network or file access, and the reasons of single attempts. The broker's
// audit record carries the same codes (sandbox/egress and sandbox/wasm use
// these constants).
const (
	CodeEgressDenied = "sandbox.egress_denied" // a network or file access outside the grant

	CodeDeniedHost       = "egress.denied_host"        // the host is not in the allowlist
	CodeDeniedAddress    = "egress.denied_address"     // a forbidden address class the grant does not name by IP/CIDR, or an IPv6 zone
	CodeDeniedScheme     = "egress.denied_scheme"      // not http/https, or a scheme the host's grant does not name
	CodeDeniedPort       = "egress.denied_port"        // a port the host's grant does not name
	CodeUserinfo         = "egress.userinfo"           // the URL carries user:password@
	CodeInvalidRequest   = "egress.invalid_request"    // unparsable URL or host, bad method or header
	CodeTooManyRequests  = "egress.too_many_requests"  // more attempts than the call may make
	CodeRequestTooLarge  = "egress.request_too_large"  // request bytes past the call's cap
	CodeResponseTooLarge = "egress.response_too_large" // response body bytes past the call's cap
	CodeRedirects        = "egress.redirects"          // more redirects than allowed
	CodeTimeout          = "egress.timeout"            // the request's time passed or the call was cancelled
	CodeDNS              = "egress.dns"                // the name did not resolve
	CodeConnect          = "egress.connect"            // no checked address accepted a connection, or the exchange failed

	CodeFSEscape          = "fs.escape"           // the path leaves the mount: "..", absolute, or through a symbolic link
	CodeFSHardLink        = "fs.hard_link"        // a regular file with more than one hard link
	CodeFSSpecial         = "fs.special"          // neither a regular file nor a directory
	CodeFSReadOnly        = "fs.read_only"        // a write of any kind: mounts are read-only
	CodeFSRefusalsDropped = "fs.refusals_dropped" // more refused file accesses than are recorded one by one
)
