package audit

import (
	"encoding/json"
	"time"
)

// Decisions recorded in [Record.Decision].
const (
	DecisionAllow = "allow" // the call was admitted and ran
	DecisionDeny  = "deny"  // the call was refused before it ran
)

// Events recorded in [Record.Event]: a record that is not one tool call.
const (
	// EventRefusals sums up refusals of one kind from one source that
	// were not recorded one by one ([Record.Repeats] of them), so that a
	// flood cannot fill the disk.
	EventRefusals = "refusals"
	// EventRecovered marks the return of a log that could not be
	// written: [Record.Repeats] appends were refused meanwhile (their
	// calls were refused too), and Error says when and why.
	EventRecovered = "audit.recovered"
)

// Outcomes recorded in [Record.Outcome] for admitted calls.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Record is one line of the invocation log: one tool call, allowed or denied.
//
// Field names are stable: security teams query them. Secrets are redacted by
// the broker before a Record reaches [Log.Append]; the log hashes what it is
// given.
type Record struct {
	Seq  uint64    `json:"seq"` // position in the log, from 1; set by Append
	Time time.Time `json:"time"`
	// Event is "" for a tool call (or a request refused on its way to one)
	// and names what the record is otherwise (EventRefusals, ...).
	Event string `json:"event,omitempty"`

	// Who.
	Tenant   string   `json:"tenant,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	AuthKind string   `json:"auth,omitempty"`     // apikey, jwt, cli
	Audience string   `json:"audience,omitempty"` // token audience
	KeyID    string   `json:"key_id,omitempty"`

	// Where from.
	Session       string `json:"session,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	Method        string `json:"method,omitempty"`    // JSON-RPC method of a request refused before the broker
	Transport     string `json:"transport,omitempty"` // cli, stdio, http
	RemoteAddr    string `json:"remote_addr,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	Protocol      string `json:"protocol,omitempty"` // MCP protocol version
	ClientName    string `json:"client_name,omitempty"`
	ClientVersion string `json:"client_version,omitempty"`
	Model         string `json:"model,omitempty"` // model the client declared, if any

	// What.
	Tool         string          `json:"tool"`
	ToolVersion  string          `json:"tool_version,omitempty"`
	ToolDigest   string          `json:"tool_digest,omitempty"`
	ManifestHash string          `json:"manifest_hash,omitempty"`
	GrantedBy    string          `json:"granted_by,omitempty"` // the role whose grant admitted the call
	Arguments    json.RawMessage `json:"arguments,omitempty"`  // redacted
	ArgsSHA256   string          `json:"args_sha256,omitempty"`
	// PayloadSHA256 and Excerpt describe a message refused before it was
	// read as a call: its digest, and at most its first 256 bytes as
	// text (redacted and escaped like every string), never the whole.
	PayloadSHA256 string `json:"payload_sha256,omitempty"`
	Excerpt       string `json:"excerpt,omitempty"`

	// Decision and outcome.
	Decision string `json:"decision"`         // allow or deny
	Reason   string `json:"reason,omitempty"` // reason code, e.g. denied.role
	Outcome  string `json:"outcome,omitempty"`
	Error    string `json:"error,omitempty"` // internal detail, redacted

	// Result.
	ResultSHA256    string        `json:"result_sha256,omitempty"`
	ResultBytes     int64         `json:"result_bytes,omitempty"`
	Truncated       bool          `json:"truncated,omitempty"`
	Duration        time.Duration `json:"duration_ns,omitempty"`
	Sandbox         string        `json:"sandbox,omitempty"` // wasm, plugin
	PeakMemoryBytes int64         `json:"peak_memory_bytes,omitempty"`
	Egress          []Egress      `json:"egress,omitempty"`
	Flags           []string      `json:"flags,omitempty"`
	// Repeats counts what an event record sums up (refusals not recorded
	// one by one, appends refused while the log was down).
	Repeats int `json:"repeats,omitempty"`

	// Chain.
	Prev string `json:"prev"` // hash of the previous record (hex), "" for the first
	Hash string `json:"hash"` // SHA-256 (hex) over Prev and the canonical record
}

// Egress is one network or file access attempt made during a call.
type Egress struct {
	Host     string `json:"host"`
	Path     string `json:"path,omitempty"` // file entries (Host "file") only
	Port     int    `json:"port,omitempty"`
	Address  string `json:"address,omitempty"`
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason,omitempty"`
	BytesOut int64  `json:"bytes_out,omitempty"`
	BytesIn  int64  `json:"bytes_in,omitempty"`
}
