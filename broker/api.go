package broker

import (
	"encoding/json"
	"time"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// Call is one tools/call as the broker sees it: who, what, and where from.
type Call struct {
	Principal auth.Principal
	Tool      string
	// Args is the raw JSON arguments object exactly as it arrived. The
	// broker decodes it once, strictly, and hands these same bytes to the
	// sandbox. Nil or empty means {}.
	Args json.RawMessage
	Meta Meta
}

// Meta describes where a call came from, for the audit log. Every field is
// optional.
type Meta struct {
	Transport     string // cli, stdio, http
	Session       string
	RequestID     string
	RemoteAddr    string
	UserAgent     string
	Protocol      string // MCP protocol version
	ClientName    string
	ClientVersion string
	Model         string // model the client declared in _meta, if any
}

// Outcome is a successful call's result.
type Outcome struct {
	// Result is the tool's JSON result value.
	Result json.RawMessage
	// Seq is the audit record's sequence number.
	Seq      uint64
	Duration time.Duration
	// Reason is "" for a plain success, or the code of what happened on
	// the way (sandbox.contained, output.redacted, output.flagged): the
	// result was returned, and the record says why it is marked.
	Reason string
	// Flags are the record's flags: what the sandbox refused and what
	// output screening found.
	Flags []string
}

// ToolInfo is a tool as a caller sees it in tools/list.
type ToolInfo struct {
	Name        string
	Description string
	// InputSchema is the manifest's schema byte for byte when the granting
	// roles add no constraint, and the effective schema when they do.
	InputSchema json.RawMessage
	Risk        string
}
