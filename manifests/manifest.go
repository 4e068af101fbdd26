package manifests

import (
	"encoding/json"
	"time"
)

// APIVersion is the only manifest API version this package accepts.
const APIVersion = "toolwarden.dev/v1"

// Manifest kinds.
const (
	KindTool = "Tool"
	KindRole = "Role"
)

// Tool is a tool manifest, written by the tool's author: what the tool is and
// the most it may ever need. A role can only narrow it.
//
// # Notes
//
// A *Tool returned by [ParseTool] or [LoadDir] has passed every check and its
// input schema is compiled; treat it as immutable and safe for concurrent use.
type Tool struct {
	APIVersion  string          `json:"apiVersion"`
	Kind        string          `json:"kind"`
	Name        string          `json:"name"`    // [a-z][a-z0-9_]{0,63}
	Version     string          `json:"version"` // semantic version, e.g. 1.0.0
	Description string          `json:"description"`
	Runtime     Runtime         `json:"runtime"`
	InputSchema json.RawMessage `json:"inputSchema"` // JSON Schema of the arguments object, as written
	Requires    Requires        `json:"requires,omitzero"`
	Limits      Limits          `json:"limits,omitzero"`
	Risk        string          `json:"risk,omitempty"` // low (default), medium or high
	Cost        int             `json:"cost,omitempty"` // units counted against budgets; absent means 1

	// File is the path the manifest was read from ("" when parsed from
	// bytes). Artifact paths are relative to its directory.
	File string `json:"-"`

	schema   *Schema
	artifact string // absolute path of the module or command
}

// Schema returns the compiled input schema.
func (t *Tool) Schema() *Schema { return t.schema }

// Runtime selects how a tool runs: exactly one member is set.
type Runtime struct {
	Wasm   *WasmRuntime   `json:"wasm,omitempty"`
	Plugin *PluginRuntime `json:"plugin,omitempty"`
}

// WasmRuntime is a WASI preview1 command module.
type WasmRuntime struct {
	Module string `json:"module"` // path relative to the manifest's directory
	SHA256 string `json:"sha256"` // lower-case hex digest of the module's bytes
}

// PluginRuntime is a go-plugin binary.
type PluginRuntime struct {
	Command string `json:"command"` // path relative to the manifest's directory
	SHA256  string `json:"sha256"`  // lower-case hex digest of the binary's bytes
}

// Requires lists the most a tool may ever reach.
type Requires struct {
	Egress  []string `json:"egress,omitempty"`  // "host:port" patterns; "*.example.com:443" allowed
	Secrets []string `json:"secrets,omitempty"` // environment variable names the broker injects
	// Mounts lists the absolute paths inside the sandbox where the tool
	// may be given a directory to read, e.g. "/data". A role decides
	// which host directory, if any, each one is ([RoleTool.Mounts]).
	Mounts []string `json:"mounts,omitempty"`
}

// Limits caps one call. A zero field means "absent: use the default"; an
// explicit zero or negative value in a manifest is a load error.
type Limits struct {
	Timeout Duration `json:"timeout,omitzero"`
	Memory  Size     `json:"memory,omitzero"`
	Output  Size     `json:"output,omitzero"`
}

// Duration is a positive time.Duration written as a Go duration string ("5s").
type Duration time.Duration

// Size is a positive number of bytes written as an integer or with a binary
// unit suffix ("64MiB", "256KiB", "1GiB", "512B").
type Size int64

// Role is a role manifest, written by the security team: who may call what.
//
// # Notes
//
// A *Role returned by [ParseRole] or [LoadDir] has passed every check; treat
// it as immutable.
type Role struct {
	APIVersion  string     `json:"apiVersion"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Tools       []RoleTool `json:"tools"`

	// File is the path the manifest was read from.
	File string `json:"-"`
}

// RoleTool grants one tool (or, with Name "*", every tool) to a role, with
// optional narrowing.
type RoleTool struct {
	// Name is a tool name, or "*" for every tool in the set. An entry for
	// a tool replaces the role's "*" entry for it, and must state the
	// rate, egress and limits "*" sets (see [ParseRole]).
	Name string `json:"name"`
	// Arguments maps an argument name to a JSON Schema fragment that the
	// argument must also satisfy (ANDed with the tool's schema).
	Arguments map[string]json.RawMessage `json:"arguments,omitempty"`
	Egress    []string                   `json:"egress,omitempty"` // must be a subset of the tool's
	Limits    Limits                     `json:"limits,omitzero"`  // may only tighten the tool's
	Rate      *Rate                      `json:"rate,omitempty"`   // calls per window, e.g. "30/min"
	// Mounts gives the tool host directories, read-only, at paths its
	// manifest declares in requires.mounts. Not allowed with Name "*".
	Mounts []Mount `json:"mounts,omitempty"`
	// OnRefusal says what a refusal by the sandbox during a call (a host,
	// an address or a file path outside the grant) does to the call:
	// "contain" (the default: the run is contained, its result stands,
	// marked sandbox.contained and flagged in the record) or "fail" (the
	// call fails with sandbox.egress_denied, whatever the tool returned).
	OnRefusal string `json:"onRefusal,omitempty"`
	// Output is how the tool's results are screened before they leave.
	Output *OutputPolicy `json:"output,omitempty"`
}

// OutputPolicy is how a role screens a tool's results. Injected secrets
// and secret-looking strings are always redacted from a result; this says
// what else happens.
type OutputPolicy struct {
	// Injection is what a result carrying instruction-override phrases,
	// role or system tokens, hidden Unicode (tag characters, zero-width
	// and bidi controls) or terminal escapes gets: "flag" (the default:
	// the result is annotated and the record flagged), "strip" (the hidden
	// characters and escapes are removed, the phrases marked) or "block"
	// (the call fails with output.blocked).
	Injection string `json:"injection,omitempty"`
	// StripURLs replaces every http(s) URL in the result's strings with
	// "[url removed]".
	StripURLs bool `json:"stripURLs,omitempty"`
}

// Values of [RoleTool.OnRefusal] and [OutputPolicy.Injection].
const (
	OnRefusalContain = "contain"
	OnRefusalFail    = "fail"

	InjectionFlag  = "flag"
	InjectionStrip = "strip"
	InjectionBlock = "block"
)

// Mount maps a host directory to a path inside the sandbox, read-only.
type Mount struct {
	// Host is the directory on the host, relative to the role manifest's
	// directory or absolute. [LoadDir] checks that it is a directory.
	Host string `json:"host"`
	// Guest is the absolute, clean path inside the sandbox, one the tool
	// declares in requires.mounts.
	Guest string `json:"guest"`

	abs string // Host made absolute
}

// HostPath returns the absolute path of the host directory ("" for a Mount
// not made by [ParseRole] or [LoadDir]).
func (m Mount) HostPath() string { return m.abs }

// Rate is a call budget per window, written "N/sec", "N/min", "N/hour" or
// "N/day".
type Rate struct {
	Calls  int
	Window time.Duration
}

// Set is a loaded, cross-checked collection of tools and roles.
type Set struct {
	Tools map[string]*Tool // by name
	Roles map[string]*Role // by name
	// Hash is the SHA-256 (hex) over every manifest file's path and bytes
	// in sorted order: the manifest set's version.
	Hash string
}
