package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// JSON-RPC error codes used in replies this package writes itself.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeInvalidParams  = -32602
	codeUnauthorized   = -32001 // implementation-defined: authentication failed
)

// Reason codes of messages refused before they reach the broker. Each
// reaches the client in the JSON-RPC error's data ({"reason": code}) and
// the audit log as the same code.
const (
	CodeFrameParse     = "frame.parse"         // not JSON: syntax, invalid UTF-8, data after the message
	CodeFrameTooLarge  = "frame.too_large"     // longer than the message or body cap
	CodeFrameTooDeep   = "frame.too_deep"      // nested deeper than the frame limit
	CodeFrameBatch     = "frame.batch"         // a JSON-RPC batch (an array of messages)
	CodeFrameAmbiguous = "frame.ambiguous_key" // duplicate or case-variant keys, or a key folding onto a known member
	CodeFrameInvalid   = "frame.invalid"       // JSON, but not one well-formed JSON-RPC 2.0 message

	CodeProtocolContentType = "protocol.content_type" // an HTTP POST whose body is not declared application/json
	CodeProtocolVersion     = "protocol.version"      // an unsupported protocol version, or the header and message disagreeing on it
	CodeProtocolHeaders     = "protocol.headers"      // Mcp-Method or Mcp-Name not naming what the message names

	CodeSessionRequired = "session.required" // a legacy-protocol request without Mcp-Session-Id
	CodeSessionUnknown  = "session.unknown"  // a session never issued, ended, or expired
	CodeSessionForeign  = "session.foreign"  // a session issued to another principal
	CodeSessionLimit    = "session.limit"    // the principal holds as many sessions as allowed
)

// Frame limits.
const (
	maxFrameDepth  = 128 // nesting of one message; tool arguments are capped again by the broker
	maxIDBytes     = 256 // longest string id accepted
	maxIDDigits    = 15  // longest integer id: every such id survives float64 decoding by clients
	maxMethodBytes = 128
	maxErrorText   = 256 // longest validator message echoed to a client
)

const (
	methodToolsCall = string(mcp.MethodToolsCall)
	methodToolsList = string(mcp.MethodToolsList)
)

// argumentsPointer is where a tools/call carries its arguments. Their keys
// are checked by the broker, which refuses duplicates and case variants as
// invalid.arguments, the layer they belong to.
const argumentsPointer = "/params/arguments"

// frameKind says what a JSON-RPC message is.
type frameKind int

const (
	kindRequest      frameKind = iota + 1 // method and id
	kindNotification                      // method, no id
	kindResponse                          // id and result or error, no method
)

// frame is one JSON-RPC message as this package read it: strictly, once.
type frame struct {
	kind   frameKind
	method string
	// id is the raw id (a JSON string or integer); nil for notifications.
	id json.RawMessage
	// idText is the id as the audit log records it: a string id's value or
	// an integer id's digits.
	idText string

	// tools/call only.
	toolName string
	args     json.RawMessage // exactly the bytes of params.arguments; nil when absent

	// From params._meta (any method).
	metaProtocol      string // io.modelcontextprotocol/protocolVersion
	metaClientName    string // io.modelcontextprotocol/clientInfo.name
	metaClientVersion string
	model             string // toolwarden.dev/model or model

	// initialize only.
	initProtocol      string
	initClientName    string
	initClientVersion string
}

// frameError is a message refused before the broker saw it, with the
// reply it gets.
type frameError struct {
	code    int    // JSON-RPC error code
	reason  string // stable reason code, e.g. CodeFrameParse
	message string
	// id is the request id when it could be read safely, else nil (null).
	id json.RawMessage
}

func (e *frameError) Error() string { return e.reason + ": " + e.message }

// ReasonCode returns the stable reason code.
func (e *frameError) ReasonCode() string { return e.reason }

// wireMessage is the JSON-RPC 2.0 envelope: no other member is allowed.
type wireMessage struct {
	JSONRPC *string         `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  *string         `json:"method"`
	Params  *wireParams     `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

// wireParams names every params member an MCP reader (mcp-go, a client
// SDK) takes from a request of any method. The set is open, but a member
// that folds onto one of these ("Name", "ARGUMENTS", "nam\u017fe") is
// refused: encoding/json would read it as that member, while this reading
// sees nothing.
type wireParams struct {
	strictjson.Open
	Name            json.RawMessage `json:"name"`
	Arguments       json.RawMessage `json:"arguments"`
	Meta            *wireMeta       `json:"_meta"`
	Cursor          json.RawMessage `json:"cursor"`
	ProtocolVersion *string         `json:"protocolVersion"`
	Capabilities    json.RawMessage `json:"capabilities"`
	ClientInfo      *wireClient     `json:"clientInfo"`
	Task            json.RawMessage `json:"task"`
	URI             json.RawMessage `json:"uri"`
	Level           json.RawMessage `json:"level"`
	Ref             json.RawMessage `json:"ref"`
	Argument        json.RawMessage `json:"argument"`
	Context         json.RawMessage `json:"context"`
	RequestID       json.RawMessage `json:"requestId"`
	Reason          json.RawMessage `json:"reason"`
	ProgressToken   json.RawMessage `json:"progressToken"`
	Progress        json.RawMessage `json:"progress"`
	Total           json.RawMessage `json:"total"`
	Message         json.RawMessage `json:"message"`
	TaskID          json.RawMessage `json:"taskId"`
	InputResponses  json.RawMessage `json:"inputResponses"`
	RequestState    json.RawMessage `json:"requestState"`
	Filter          json.RawMessage `json:"filter"`
	TTL             json.RawMessage `json:"ttl"`
}

// wireMeta is params._meta: the keys this package and mcp-go read.
type wireMeta struct {
	strictjson.Open
	ProtocolVersion    *string         `json:"io.modelcontextprotocol/protocolVersion"`
	ClientInfo         *wireClient     `json:"io.modelcontextprotocol/clientInfo"`
	ClientCapabilities json.RawMessage `json:"io.modelcontextprotocol/clientCapabilities"`
	LogLevel           json.RawMessage `json:"io.modelcontextprotocol/logLevel"`
	SubscriptionID     json.RawMessage `json:"io.modelcontextprotocol/subscriptionId"`
	Model              *string         `json:"toolwarden.dev/model"`
	PlainModel         *string         `json:"model"`
	ProgressToken      json.RawMessage `json:"progressToken"`
	Traceparent        json.RawMessage `json:"traceparent"`
	Tracestate         json.RawMessage `json:"tracestate"`
}

// wireClient is an Implementation object (clientInfo).
type wireClient struct {
	strictjson.Open
	Name    *string `json:"name"`
	Version *string `json:"version"`
}

// parseFrame checks data as one JSON-RPC 2.0 message and reads what the
// server needs from it, in one strict pass. maxBytes caps the message; it
// is normally already enforced by the caller and repeated here.
func parseFrame(data []byte, maxBytes int64) (*frame, *frameError) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return nil, &frameError{code: codeInvalidRequest, reason: CodeFrameInvalid, message: "invalid request: empty message"}
	case int64(len(data)) > maxBytes:
		return nil, tooLarge(maxBytes)
	case data[0] == '[':
		return nil, &frameError{code: codeInvalidRequest, reason: CodeFrameBatch, message: "invalid request: batch requests are not supported; send one JSON-RPC message at a time"}
	}
	var m wireMessage
	errs := strictjson.UnmarshalAll(data, &m, strictjson.Limits{MaxBytes: int(maxBytes), MaxDepth: maxFrameDepth, Unchecked: argumentsPointer})
	// The id is read first, so that a refusal of anything else carries it.
	f := &frame{}
	var idErr error
	if m.ID != nil {
		f.id, f.idText, idErr = readID(m.ID)
		if idErr != nil {
			f.id, f.idText = nil, ""
		}
	}
	if len(errs) > 0 {
		return nil, fromJSON(errs[0], f.id)
	}
	if idErr != nil {
		return nil, invalid(nil, "%v", idErr)
	}
	if m.JSONRPC == nil || *m.JSONRPC != "2.0" {
		return nil, invalid(f.id, `"jsonrpc" must be "2.0"`)
	}
	hasResult, hasError := m.Result != nil, m.Error != nil
	switch {
	case m.Method != nil && (hasResult || hasError):
		return nil, invalid(f.id, "a message has either a method or a result/error, not both")
	case m.Method == nil:
		switch {
		case f.id == nil:
			return nil, invalid(nil, `a response needs an "id"`)
		case hasResult == hasError:
			return nil, invalid(f.id, `a response has exactly one of "result" and "error"`)
		case m.Params != nil:
			return nil, invalid(f.id, `a response has no "params"`)
		}
		f.kind = kindResponse
		return f, nil
	}
	f.method = *m.Method
	if f.method == "" || len(f.method) > maxMethodBytes {
		return nil, invalid(f.id, `"method" must be a non-empty string of at most %d bytes`, maxMethodBytes)
	}
	f.kind = kindRequest
	if f.id == nil {
		f.kind = kindNotification
		if !strings.HasPrefix(f.method, "notifications/") {
			// mcp-go would take an id-less request for a notification and
			// answer nothing.
			return nil, invalid(nil, `%q is a request and needs an "id" (a string or an integer)`, f.method)
		}
	}
	p := m.Params
	if p == nil {
		if f.method == methodToolsCall {
			return nil, invalid(f.id, `tools/call needs "params"`)
		}
		return f, nil
	}
	if p.Meta != nil {
		f.readMeta(p.Meta)
	}
	switch f.method {
	case methodToolsCall:
		if readString(p.Name, &f.toolName) != nil || f.toolName == "" {
			return nil, invalid(f.id, `tools/call needs "params.name", a non-empty string`)
		}
		f.args = p.Arguments
	case string(mcp.MethodInitialize):
		f.initProtocol = deref(p.ProtocolVersion)
		if c := p.ClientInfo; c != nil {
			f.initClientName, f.initClientVersion = deref(c.Name), deref(c.Version)
		}
	}
	if f.method != methodToolsCall && p.Arguments != nil {
		// Only a tools/call's arguments go to the broker, which checks their
		// keys itself; any other method's go to mcp-go and are held to the
		// frame's rules.
		if err := strictjson.Check(p.Arguments, strictjson.Limits{MaxBytes: len(p.Arguments), MaxDepth: maxFrameDepth, RejectCaseVariants: true}); err != nil {
			return nil, fromJSON(prefixed(err, argumentsPointer), f.id)
		}
	}
	return f, nil
}

// readMeta keeps what the audit log records from params._meta.
func (f *frame) readMeta(m *wireMeta) {
	f.metaProtocol = deref(m.ProtocolVersion)
	if c := m.ClientInfo; c != nil {
		f.metaClientName, f.metaClientVersion = deref(c.Name), deref(c.Version)
	}
	f.model = deref(m.Model)
	if f.model == "" {
		f.model = deref(m.PlainModel)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readString decodes a JSON string member.
func readString(raw json.RawMessage, s *string) error {
	return strictjson.Unmarshal(raw, s, strictjson.Limits{MaxBytes: len(raw)})
}

// tooLarge is the refusal of a message past the cap.
func tooLarge(limit int64) *frameError {
	return &frameError{code: codeInvalidRequest, reason: CodeFrameTooLarge, message: fmt.Sprintf("invalid request: message exceeds the limit of %d bytes", limit)}
}

// bodyTooLarge is the refusal of an HTTP request body past the cap.
func bodyTooLarge(limit int64) *frameError {
	return &frameError{code: codeInvalidRequest, reason: CodeFrameTooLarge, message: fmt.Sprintf("request body exceeds the limit of %d bytes", limit)}
}

func invalid(id json.RawMessage, format string, args ...any) *frameError {
	return &frameError{code: codeInvalidRequest, reason: CodeFrameInvalid, message: clip("invalid request: " + fmt.Sprintf(format, args...)), id: id}
}

// fromJSON turns a strictjson refusal of a message into its reply.
func fromJSON(err error, id json.RawMessage) *frameError {
	se, ok := errors.AsType[*strictjson.Error](err)
	if !ok {
		return invalid(id, "%v", err)
	}
	fe := &frameError{code: codeInvalidRequest, reason: CodeFrameInvalid, message: clip("invalid request: " + se.Error()), id: id}
	switch se.Code {
	case strictjson.CodeSyntax, strictjson.CodeUTF8, strictjson.CodeTrailing:
		fe.code, fe.reason, fe.message = codeParseError, CodeFrameParse, clip("parse error: "+se.Error())
		fe.id = nil // a message that is not JSON has no id anyone can trust
	case strictjson.CodeTooLarge:
		fe.reason = CodeFrameTooLarge
	case strictjson.CodeTooDeep:
		fe.reason = CodeFrameTooDeep
	case strictjson.CodeDuplicateKey, strictjson.CodeCaseVariantKey, strictjson.CodeFieldCase:
		fe.reason = CodeFrameAmbiguous
	case strictjson.CodeType:
		if se.Path == "" {
			fe.message = "invalid request: a message must be a JSON object"
		}
	}
	return fe
}

// prefixed returns a strictjson error on a member's value as an error on
// the whole message, its path under ptr.
func prefixed(err error, ptr string) error {
	if se, ok := errors.AsType[*strictjson.Error](err); ok {
		cp := *se
		cp.Path = ptr + se.Path
		return &cp
	}
	return err
}

// readID checks a JSON-RPC id: a string of at most maxIDBytes or an integer
// of at most maxIDDigits digits. null, fractions, exponents, booleans and
// structures are refused: mcp-go treats a null id as a notification and
// decodes numbers as float64.
func readID(raw json.RawMessage) (json.RawMessage, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, "", fmt.Errorf(`"id" is empty`)
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := readString(raw, &s); err != nil {
			return nil, "", fmt.Errorf(`"id" is not a valid string`)
		}
		if len(s) > maxIDBytes {
			return nil, "", fmt.Errorf(`"id" is longer than %d bytes`, maxIDBytes)
		}
		return raw, s, nil
	case c == '-' || (c >= '0' && c <= '9'):
		digits := strings.TrimPrefix(string(raw), "-")
		if digits == "" || len(digits) > maxIDDigits || strings.Trim(digits, "0123456789") != "" {
			return nil, "", fmt.Errorf(`"id" must be an integer of at most %d digits`, maxIDDigits)
		}
		if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
			return nil, "", fmt.Errorf(`"id" must be an integer of at most %d digits`, maxIDDigits)
		}
		return raw, string(raw), nil
	case c == 'n':
		return nil, "", fmt.Errorf(`"id" must not be null: a request needs a string or integer id`)
	default:
		return nil, "", fmt.Errorf(`"id" must be a string or an integer`)
	}
}

// errorReply encodes a JSON-RPC error response. A non-empty reason is sent
// as the error's data, {"reason": reason}.
func errorReply(id json.RawMessage, code int, reason, message string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	type data struct {
		Reason string `json:"reason"`
	}
	type details struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    *data  `json:"data,omitempty"`
	}
	d := details{Code: code, Message: message}
	if reason != "" {
		d.Data = &data{Reason: reason}
	}
	out, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   details         `json:"error"`
	}{"2.0", id, d})
	if err != nil {
		// Only an unencodable id could fail, and ids are checked; answer
		// with a null id rather than nothing.
		return []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error","data":{"reason":"internal"}}}`)
	}
	return out
}

// reply returns the error reply of a refused frame.
func (e *frameError) reply() []byte { return errorReply(e.id, e.code, e.reason, e.message) }

// clip shortens a message echoed to a client.
func clip(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
