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
	codeUnauthorized   = -32001 // implementation-defined: authentication failed
)

// Frame limits.
const (
	maxFrameDepth  = 128 // nesting of one message; tool arguments are capped again by the broker
	maxIDBytes     = 256 // longest string id accepted
	maxIDDigits    = 15  // longest integer id: every such id survives mcp-go's float64 decoding
	maxMethodBytes = 128
	maxErrorText   = 256 // longest validator message echoed to a client
)

const methodToolsCall = string(mcp.MethodToolsCall)

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

// frameError is a message refused before mcp-go saw it, with the reply it
// gets.
type frameError struct {
	code    int
	message string
	// id is the request id when it could be read safely, else nil (null).
	id json.RawMessage
}

func (e *frameError) Error() string { return e.message }

// topLevelMembers are the only members a JSON-RPC 2.0 message may have.
var topLevelMembers = map[string]bool{
	"jsonrpc": true, "id": true, "method": true, "params": true, "result": true, "error": true,
}

// knownParamKeys are members mcp-go reads from params objects (or from
// _meta). encoding/json matches them case-insensitively, so a key that is not
// one of them but folds onto one ("Name", "ARGUMENTS", "nam\u017fe") would
// be read by mcp-go as that member while this package reads nothing: such a
// key is refused.
var knownParamKeys = []string{
	"name", "arguments", "_meta", "cursor", "protocolVersion", "capabilities",
	"clientInfo", "task", "uri", "level", "ref", "argument", "context",
	"requestId", "reason", "progressToken", "progress", "total", "message",
	"taskId", "inputResponses", "requestState", "filter", "ttl",
	mcp.MetaKeyProtocolVersion, mcp.MetaKeyClientInfo, mcp.MetaKeyClientCapabilities,
	mcp.MetaKeyLogLevel, mcp.MetaKeySubscriptionID, metaKeyModel, "model",
}

// metaKeyModel is the _meta key a client may use to declare the model it
// serves; the plain key "model" is accepted too.
const metaKeyModel = "toolwarden.dev/model"

// parseFrame checks data as one JSON-RPC 2.0 message and reads what the
// server needs from it. maxBytes caps the message; it is normally already
// enforced by the caller and repeated for the validator.
func parseFrame(data []byte, maxBytes int64) (*frame, *frameError) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, &frameError{code: codeInvalidRequest, message: "invalid request: empty message"}
	}
	if int64(len(data)) > maxBytes {
		return nil, &frameError{code: codeInvalidRequest, message: fmt.Sprintf("message exceeds the limit of %d bytes", maxBytes)}
	}
	// One pass checks syntax, UTF-8, depth, duplicate keys and keys that
	// differ only in case, in every object of the message.
	if err := strictjson.Check(data, strictjson.Limits{MaxBytes: int(maxBytes), MaxDepth: maxFrameDepth, RejectCaseVariants: true}); err != nil {
		if se, ok := errors.AsType[*strictjson.Error](err); ok && (se.Code == strictjson.CodeSyntax || se.Code == strictjson.CodeUTF8 || se.Code == strictjson.CodeTrailing) {
			return nil, &frameError{code: codeParseError, message: clip("parse error: " + err.Error())}
		}
		return nil, &frameError{code: codeInvalidRequest, message: clip("invalid request: " + err.Error())}
	}
	switch data[0] {
	case '{':
	case '[':
		return nil, &frameError{code: codeInvalidRequest, message: "invalid request: batch requests are not supported; send one JSON-RPC message at a time"}
	default:
		return nil, &frameError{code: codeInvalidRequest, message: "invalid request: a message must be a JSON object"}
	}

	// strictjson has ruled out duplicate and case-variant keys, so this map
	// is the only reading of the object there is.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, &frameError{code: codeParseError, message: "parse error: message is not a JSON object"}
	}
	f := &frame{}
	if raw, ok := top["id"]; ok {
		id, text, err := readID(raw)
		if err != nil {
			return nil, &frameError{code: codeInvalidRequest, message: "invalid request: " + err.Error()}
		}
		f.id, f.idText = id, text
	}
	fail := func(format string, args ...any) (*frame, *frameError) {
		return nil, &frameError{code: codeInvalidRequest, message: clip("invalid request: " + fmt.Sprintf(format, args...)), id: f.id}
	}
	for key := range top {
		if !topLevelMembers[key] {
			return fail("unknown member %q", key)
		}
	}
	var version string
	if err := json.Unmarshal(top["jsonrpc"], &version); err != nil || version != "2.0" {
		return fail(`"jsonrpc" must be "2.0"`)
	}

	rawMethod, hasMethod := top["method"]
	_, hasResult := top["result"]
	_, hasError := top["error"]
	switch {
	case hasMethod && (hasResult || hasError):
		return fail("a message has either a method or a result/error, not both")
	case !hasMethod:
		if f.id == nil {
			return fail(`a response needs an "id"`)
		}
		if hasResult == hasError {
			return fail(`a response has exactly one of "result" and "error"`)
		}
		if _, ok := top["params"]; ok {
			return fail(`a response has no "params"`)
		}
		f.kind = kindResponse
		return f, nil
	}
	if err := json.Unmarshal(rawMethod, &f.method); err != nil || f.method == "" || len(f.method) > maxMethodBytes {
		return fail(`"method" must be a non-empty string of at most %d bytes`, maxMethodBytes)
	}
	f.kind = kindRequest
	if f.id == nil {
		f.kind = kindNotification
		if !strings.HasPrefix(f.method, "notifications/") {
			// mcp-go would take an id-less request for a notification and
			// answer nothing.
			return fail(`%q is a request and needs an "id" (a string or an integer)`, f.method)
		}
	}

	rawParams, ok := top["params"]
	if !ok {
		if f.method == methodToolsCall {
			return fail(`tools/call needs "params"`)
		}
		return f, nil
	}
	params, err := readObject(rawParams)
	if err != nil {
		return fail(`"params" must be an object`)
	}
	if key, canon, ok := foldedKey(params); ok {
		return fail("params member %q differs from %q only in case", key, canon)
	}
	if rawMeta, ok := params["_meta"]; ok {
		if err := f.readMeta(rawMeta); err != nil {
			return fail("%v", err)
		}
	}
	switch f.method {
	case methodToolsCall:
		if err := json.Unmarshal(params["name"], &f.toolName); err != nil || f.toolName == "" {
			return fail(`tools/call needs "params.name", a non-empty string`)
		}
		if raw, ok := params["arguments"]; ok {
			f.args = raw
		}
	case string(mcp.MethodInitialize):
		if raw, ok := params["protocolVersion"]; ok {
			if err := json.Unmarshal(raw, &f.initProtocol); err != nil {
				return fail(`"params.protocolVersion" must be a string`)
			}
		}
		if raw, ok := params["clientInfo"]; ok {
			name, version, err := readImplementation(raw)
			if err != nil {
				return fail(`"params.clientInfo" %v`, err)
			}
			f.initClientName, f.initClientVersion = name, version
		}
	}
	return f, nil
}

// readMeta reads params._meta.
func (f *frame) readMeta(raw json.RawMessage) error {
	meta, err := readObject(raw)
	if err != nil {
		return fmt.Errorf(`"params._meta" must be an object`)
	}
	if key, canon, ok := foldedKey(meta); ok {
		return fmt.Errorf("_meta member %q differs from %q only in case", key, canon)
	}
	if raw, ok := meta[mcp.MetaKeyProtocolVersion]; ok {
		if err := json.Unmarshal(raw, &f.metaProtocol); err != nil {
			return fmt.Errorf("_meta %q must be a string", mcp.MetaKeyProtocolVersion)
		}
	}
	if raw, ok := meta[mcp.MetaKeyClientInfo]; ok {
		name, version, err := readImplementation(raw)
		if err != nil {
			return fmt.Errorf("_meta %q %v", mcp.MetaKeyClientInfo, err)
		}
		f.metaClientName, f.metaClientVersion = name, version
	}
	for _, key := range []string{metaKeyModel, "model"} {
		raw, ok := meta[key]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, &f.model); err != nil {
			return fmt.Errorf("_meta %q must be a string", key)
		}
		break
	}
	return nil
}

// readImplementation reads a clientInfo object's name and version.
func readImplementation(raw json.RawMessage) (name, version string, err error) {
	obj, err := readObject(raw)
	if err != nil {
		return "", "", fmt.Errorf("must be an object")
	}
	if key, canon, ok := foldedKey(obj); ok {
		return "", "", fmt.Errorf("member %q differs from %q only in case", key, canon)
	}
	if v, ok := obj["name"]; ok {
		if json.Unmarshal(v, &name) != nil {
			return "", "", fmt.Errorf(`"name" must be a string`)
		}
	}
	if v, ok := obj["version"]; ok {
		if json.Unmarshal(v, &version) != nil {
			return "", "", fmt.Errorf(`"version" must be a string`)
		}
	}
	return name, version, nil
}

// readObject decodes a JSON object whose keys strictjson has already found
// unique.
func readObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("not an object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// foldedKey reports a key of m that is not one of knownParamKeys but equals
// one of them under Unicode case folding.
func foldedKey(m map[string]json.RawMessage) (key, canonical string, ok bool) {
	for k := range m {
		for _, known := range knownParamKeys {
			if k != known && strings.EqualFold(k, known) {
				return k, known, true
			}
		}
	}
	return "", "", false
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
		if err := json.Unmarshal(raw, &s); err != nil {
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

// errorReply encodes a JSON-RPC error response.
func errorReply(id json.RawMessage, code int, message string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	out, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{
		JSONRPC: "2.0",
		ID:      id,
		Error: struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}{code, message},
	})
	if err != nil {
		// Only an unencodable id could fail, and ids are checked; answer
		// with a null id rather than nothing.
		return []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}`)
	}
	return out
}

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
