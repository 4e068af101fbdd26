package sandbox

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// Runner prepares tool artifacts of one kind (WebAssembly modules, plugin
// binaries) so they can be run many times.
//
// # Notes
//
// Implementations are safe for concurrent use. Prepare is called at load
// time, never on the call path: it reads the artifact, checks its digest on
// the exact bytes it will run, and does all expensive work (compilation).
type Runner interface {
	// Kind names the runtime, e.g. "wasm" or "plugin". It is recorded in
	// the audit log as the sandbox kind.
	Kind() string
	// Prepare loads and checks the artifact named by spec. A digest
	// mismatch is an *Error with code CodeDigestMismatch.
	Prepare(ctx context.Context, spec Spec) (Program, error)
}

// Program is a prepared tool artifact.
//
// # Notes
//
// Run is safe for concurrent use; each call runs in a fresh instance. Close
// releases the compiled artifact; calling it twice is safe, and Run after
// Close fails with CodeClosed.
type Program interface {
	Run(ctx context.Context, inv Invocation) (*Result, error)
	Close(ctx context.Context) error
}

// Spec names an artifact to prepare.
type Spec struct {
	// Tool is the tool's name, used in errors and diagnostics.
	Tool string
	// Path is the artifact's absolute path on the host.
	Path string
	// SHA256 is the lower-case hex digest the artifact's bytes must have.
	// Empty is an error: every artifact is pinned.
	SHA256 string
}

// Invocation is one call of a prepared [Program].
type Invocation struct {
	// Args is the JSON object the tool receives, byte for byte as the
	// broker validated it. The runtime must not re-encode it.
	Args []byte
	// Limits bounds the call. Every field must be positive; the broker
	// fills defaults before calling Run.
	Limits Limits
	// Egress lists the network destinations the call may reach, as
	// "scheme://host:port" patterns. Empty means no network at all.
	Egress []string
	// Env holds the environment the tool sees (declared secrets only).
	// Empty means an empty environment, never the broker's.
	Env map[string]string
	// Mounts lists host directories visible to the tool, read-only.
	Mounts []Mount
	// Tenant is the calling principal's tenant. Runtimes that keep warm
	// instances between calls (plugin processes) never let one instance
	// serve two tenants; "" is a tenant like any other.
	Tenant string
}

// Mount exposes a host directory to a tool, read-only.
type Mount struct {
	Host  string // absolute host path
	Guest string // absolute path inside the sandbox
}

// Limits are the resource caps of one call. Zero is never "unlimited":
// [Limits.Validate] rejects it.
type Limits struct {
	Timeout        time.Duration // wall-clock time for the whole call
	MemoryBytes    int64         // linear memory (wasm) or address space (plugin)
	OutputBytes    int64         // bytes the tool may write to stdout
	MaxStderrBytes int64         // diagnostics kept; further stderr is dropped, not an error
}

// Validate reports the first non-positive limit.
func (l Limits) Validate() error {
	switch {
	case l.Timeout <= 0:
		return errors.New("sandbox: Limits.Timeout must be positive")
	case l.MemoryBytes <= 0:
		return errors.New("sandbox: Limits.MemoryBytes must be positive")
	case l.OutputBytes <= 0:
		return errors.New("sandbox: Limits.OutputBytes must be positive")
	case l.MaxStderrBytes <= 0:
		return errors.New("sandbox: Limits.MaxStderrBytes must be positive")
	}
	return nil
}

// Result is what a call produced.
//
// The tool protocol (ABI v1, shared by every runtime) is: the tool reads one
// JSON object, its arguments, from stdin and writes exactly one JSON object to
// stdout, either {"result": VALUE} on success or {"error": "MESSAGE"} for a
// tool-reported failure, then exits 0. The runtime parses the envelope: a
// tool-reported failure is an *Error with CodeToolError whose Public field is
// the tool's message.
type Result struct {
	// Output is the JSON value of the envelope's "result" member, as bytes.
	Output []byte
	// Stderr is the tool's diagnostics, truncated to Limits.MaxStderrBytes.
	Stderr []byte
	// StderrTruncated reports whether stderr was cut.
	StderrTruncated bool
	// Duration is the wall-clock time of the call inside the runtime.
	Duration time.Duration
	// PeakMemoryBytes is the largest memory the instance reached, if known
	// (0 when the runtime cannot tell).
	PeakMemoryBytes int64
	// Egress lists every network attempt the call made, allowed or not.
	Egress []EgressAttempt
}

// EgressAttempt records one attempt by a tool to reach the network or a
// mounted file outside its grant. A file entry has Host "file", Path set
// (the path as the tool named it, inside the sandbox) and no Port.
type EgressAttempt struct {
	Host     string `json:"host"`
	Path     string `json:"path,omitempty"` // file entries only
	Port     int    `json:"port,omitempty"`
	Address  string `json:"address,omitempty"` // resolved address actually dialled, if any
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason,omitempty"` // reason code when refused
	BytesOut int64  `json:"bytes_out,omitempty"`
	BytesIn  int64  `json:"bytes_in,omitempty"`
}

// Reason codes returned by runtimes.
const (
	CodeTimeout        = "sandbox.timeout"         // the call ran past Limits.Timeout
	CodeMemory         = "sandbox.memory"          // the tool needed more than Limits.MemoryBytes
	CodeTrap           = "sandbox.trap"            // the tool trapped (wasm) or crashed (plugin)
	CodeExit           = "sandbox.exit"            // the tool exited with a non-zero status
	CodeBadOutput      = "sandbox.bad_output"      // stdout was not one valid envelope object
	CodeOutputTooLarge = "output.too_large"        // stdout passed Limits.OutputBytes
	CodeToolError      = "tool.error"              // the tool reported {"error": ...}
	CodeDigestMismatch = "sandbox.digest_mismatch" // the artifact's bytes do not match its pin
	CodeLoad           = "sandbox.load"            // the artifact could not be read or compiled
	CodeClosed         = "sandbox.closed"          // Run after Close
	CodeEgressDenied   = abi.CodeEgressDenied      // a network or file access outside the grant
	CodeCrashed        = "sandbox.crashed"         // the tool's process died during the call (plugin)
)

// Error is a runtime failure with a stable reason code.
type Error struct {
	Code   string // stable reason code, one of the Code constants
	Public string // safe to show the caller
	Err    error  // internal cause, for the audit log only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Public + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Public
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonCode returns the stable reason code.
func (e *Error) ReasonCode() string { return e.Code }

// OutputLimitError reports that a tool wrote more than its output cap.
type OutputLimitError struct {
	Limit int64 // the cap, in bytes
}

func (e *OutputLimitError) Error() string {
	return "tool output exceeds the limit of " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// ReasonCode returns [CodeOutputTooLarge].
func (e *OutputLimitError) ReasonCode() string { return CodeOutputTooLarge }
