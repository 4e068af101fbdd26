package policy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Reason codes of policy decisions.
const (
	CodeUnknownTool  = "denied.unknown_tool"    // no such tool (callers see the same reply as denied.role)
	CodeDeniedRole   = "denied.role"            // no role of the caller grants the tool
	CodeDeniedArgs   = "denied.arguments"       // arguments the tool accepts but outside the role's constraints
	CodeInvalidArgs  = "invalid.arguments"      // arguments malformed, ambiguous or against the tool's schema
	CodeArgsTooLarge = "invalid.arguments_size" // arguments longer than Config.MaxArgumentBytes
)

// Defaults of [Config].
const (
	DefaultMaxArgumentBytes = 1 << 20
	DefaultMaxArgumentDepth = 64
)

// Config configures a [Policy].
type Config struct {
	// Set is the loaded tool and role set. Required.
	Set *manifests.Set
	// Limits fill limits neither the tool nor the role sets; a zero field
	// takes [DefaultLimits].
	Limits Limits
	// MaxArgumentBytes caps a call's arguments; zero means
	// DefaultMaxArgumentBytes (1 MiB).
	MaxArgumentBytes int
	// MaxArgumentDepth caps their nesting; zero means
	// DefaultMaxArgumentDepth (64).
	MaxArgumentDepth int
}

// Limits are the effective caps of a grant, in plain units.
type Limits struct {
	Timeout     time.Duration
	MemoryBytes int64
	OutputBytes int64
}

// DefaultLimits apply where neither the tool nor the role sets a limit.
var DefaultLimits = Limits{Timeout: 10 * time.Second, MemoryBytes: 64 << 20, OutputBytes: 256 << 10}

// Grant is the effective permission of one role on one tool. Only this
// package makes one; its fields are fixed at load.
type Grant struct {
	tool        *manifests.Tool
	role        string
	constrained bool
	schema      *manifests.Schema
	schemaRaw   json.RawMessage
	egress      []string
	mounts      []manifests.Mount
	limits      Limits
	rate        *manifests.Rate
	onRefusal   string // manifests.OnRefusalContain or OnRefusalFail
	output      manifests.OutputPolicy
	alone       []*Grant // just this grant: Candidates' answer for one role
}

// Tool returns the granted tool's manifest.
func (g *Grant) Tool() *manifests.Tool { return g.tool }

// Role returns the name of the role that holds the grant.
func (g *Grant) Role() string { return g.role }

// Constrained reports whether the role narrows the tool's arguments.
func (g *Grant) Constrained() bool { return g.constrained }

// InputSchema returns the effective input schema: the manifest's bytes as
// written when the role adds no constraint.
func (g *Grant) InputSchema() json.RawMessage { return g.schemaRaw }

// Egress returns the destinations the grant allows (a copy).
func (g *Grant) Egress() []string { return slices.Clone(g.egress) }

// Mounts returns the host directories the grant mounts read-only, each at
// a path the tool declares (a copy; [manifests.Mount.HostPath] is the
// absolute host directory). A "*" entry mounts nothing.
func (g *Grant) Mounts() []manifests.Mount { return slices.Clone(g.mounts) }

// Limits returns the effective limits.
func (g *Grant) Limits() Limits { return g.limits }

// Rate returns the role's call budget for the tool, or nil for none.
func (g *Grant) Rate() *manifests.Rate { return g.rate }

// FailOnRefusal reports whether a refusal by the sandbox during a call
// fails the call (the role's onRefusal is "fail") rather than being
// contained.
func (g *Grant) FailOnRefusal() bool { return g.onRefusal == manifests.OnRefusalFail }

// Output returns how the grant screens results.
func (g *Grant) Output() manifests.OutputPolicy { return g.output }

// Error is a policy refusal with a reason code.
type Error struct {
	Code       string
	Public     string
	Violations []manifests.Violation // for argument refusals
}

func (e *Error) Error() string { return e.Code + ": " + e.Public }

// ReasonCode returns the stable reason code.
func (e *Error) ReasonCode() string { return e.Code }

// Policy holds every grant of a manifest set. It is immutable and safe for
// concurrent use.
type Policy struct {
	set      *manifests.Set
	grants   map[string]map[string]*Grant // role → tool → grant
	maxBytes int
	maxDepth int
}

// New computes every grant of cfg.Set.
func New(cfg Config) (*Policy, error) {
	set, defaults := cfg.Set, cfg.Limits
	switch {
	case set == nil:
		return nil, fmt.Errorf("policy: Config.Set is nil")
	case cfg.MaxArgumentBytes < 0:
		return nil, fmt.Errorf("policy: Config.MaxArgumentBytes is negative")
	case cfg.MaxArgumentDepth < 0:
		return nil, fmt.Errorf("policy: Config.MaxArgumentDepth is negative")
	}
	if defaults.Timeout <= 0 {
		defaults.Timeout = DefaultLimits.Timeout
	}
	if defaults.MemoryBytes <= 0 {
		defaults.MemoryBytes = DefaultLimits.MemoryBytes
	}
	if defaults.OutputBytes <= 0 {
		defaults.OutputBytes = DefaultLimits.OutputBytes
	}
	p := &Policy{set: set, grants: make(map[string]map[string]*Grant),
		maxBytes: cmp.Or(cfg.MaxArgumentBytes, DefaultMaxArgumentBytes), maxDepth: cmp.Or(cfg.MaxArgumentDepth, DefaultMaxArgumentDepth)}
	for roleName, role := range set.Roles {
		byTool := make(map[string]*Grant)
		for _, entry := range role.Tools {
			names := []string{entry.Name}
			if entry.Name == "*" {
				names = names[:0]
				for name := range set.Tools {
					names = append(names, name)
				}
			}
			for _, name := range names {
				tool, ok := set.Tools[name]
				if !ok {
					return nil, fmt.Errorf("policy: role %q grants unknown tool %q", roleName, name)
				}
				if entry.Name == "*" {
					if _, explicit := byTool[name]; explicit {
						continue // an explicit entry wins over the wildcard
					}
					if len(tool.Requires.Secrets) > 0 {
						// A tool the broker hands secrets to is granted by
						// name only: a wildcard written before it existed
						// must not reach it.
						continue
					}
				}
				g, err := newGrant(roleName, tool, entry, defaults)
				if err != nil {
					return nil, fmt.Errorf("policy: role %q tool %q: %w", roleName, name, err)
				}
				g.alone = []*Grant{g}
				byTool[name] = g
			}
		}
		p.grants[roleName] = byTool
	}
	return p, nil
}

func newGrant(role string, tool *manifests.Tool, entry manifests.RoleTool, defaults Limits) (*Grant, error) {
	g := &Grant{
		tool:      tool,
		role:      role,
		schema:    tool.Schema(),
		schemaRaw: tool.InputSchema,
		rate:      entry.Rate,
		limits:    tighten(defaults, tool.Limits, entry.Limits),
		onRefusal: entry.OnRefusal,
	}
	if entry.Output != nil {
		g.output = *entry.Output
	}
	g.mounts = slices.Clone(entry.Mounts)
	g.egress = slices.Clone(tool.Requires.Egress)
	if entry.Egress != nil {
		// The loader has checked the subset relation; the role's list is
		// the effective one.
		g.egress = slices.Clone(entry.Egress)
	}
	if len(entry.Arguments) > 0 {
		raw, err := constrain(tool.InputSchema, entry.Arguments)
		if err != nil {
			return nil, err
		}
		s, err := manifests.CompileSchema(raw)
		if err != nil {
			return nil, fmt.Errorf("compile effective schema: %w", err)
		}
		g.constrained, g.schema, g.schemaRaw = true, s, raw
	}
	return g, nil
}

// tighten returns the smallest of each limit; zero manifest fields are absent.
func tighten(defaults Limits, tool, role manifests.Limits) Limits {
	l := defaults
	pick := func(cur *int64, vals ...int64) {
		for _, v := range vals {
			if v > 0 && (*cur <= 0 || v < *cur) {
				*cur = v
			}
		}
	}
	if tool.Timeout > 0 {
		l.Timeout = time.Duration(tool.Timeout)
	}
	if role.Timeout > 0 && time.Duration(role.Timeout) < l.Timeout {
		l.Timeout = time.Duration(role.Timeout)
	}
	if tool.Memory > 0 {
		l.MemoryBytes = int64(tool.Memory)
	}
	pick(&l.MemoryBytes, int64(role.Memory))
	if tool.Output > 0 {
		l.OutputBytes = int64(tool.Output)
	}
	pick(&l.OutputBytes, int64(role.Output))
	return l
}

// constrain returns the tool schema with the role's argument fragments ANDed
// in as one more allOf member at the root, so "$defs" and "$ref" pointers of
// the tool schema keep resolving.
func constrain(toolSchema json.RawMessage, args map[string]json.RawMessage) (json.RawMessage, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(toolSchema, &root); err != nil {
		return nil, fmt.Errorf("tool schema is not an object: %w", err)
	}
	names := make([]string, 0, len(args))
	for name := range args {
		names = append(names, name)
	}
	sort.Strings(names)
	props := make(map[string]json.RawMessage, len(args))
	for _, name := range names {
		props[name] = args[name]
	}
	member, err := json.Marshal(map[string]any{"properties": props})
	if err != nil {
		return nil, err
	}
	var allOf []json.RawMessage
	if existing, ok := root["allOf"]; ok {
		if err := json.Unmarshal(existing, &allOf); err != nil {
			return nil, fmt.Errorf("tool schema allOf is not an array: %w", err)
		}
	}
	allOf = append(allOf, member)
	enc, err := json.Marshal(allOf)
	if err != nil {
		return nil, err
	}
	root["allOf"] = enc
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(root); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Set returns the manifest set the policy was computed from.
func (p *Policy) Set() *manifests.Set { return p.set }

// Decision is what [Policy.Decide] found out about a call, as far as it
// got: the tool once a role grants it, the arguments once they decode, and
// the grant once one admits them.
type Decision struct {
	// Tool is the called tool's manifest; nil when the call was refused as
	// an unknown tool or by role.
	Tool *manifests.Tool
	// Args are the exact argument bytes decided on ("{}" for none): what
	// the sandbox gets.
	Args []byte
	// Value is Args decoded (json.Number numbers); nil when they did not
	// decode to an object.
	Value map[string]any
	// Grant is the grant that admits the call; nil when it was refused.
	Grant *Grant
}

// Decide is the policy decision on one call: may a principal holding
// roles call tool with the argument bytes args? It returns the admitting
// grant, or a *[Error]: denied.unknown_tool, denied.role, then
// invalid.arguments_size, invalid.arguments (not one strict JSON object
// within the depth limit, or against the tool's schema) or denied.arguments
// (outside every granting role's constraints). The broker, policy replay
// and tools list all decide through it, with the limits of one Config.
//
// # Notes
//
// Arguments are decoded strictly (strictjson): duplicate and case-variant
// keys at any depth are invalid.arguments, so the bytes the sandbox gets
// have exactly one reading, the one checked here.
func (p *Policy) Decide(roles []string, tool string, args []byte) (Decision, error) {
	var d Decision
	cands, err := p.Candidates(roles, tool)
	if err != nil {
		return d, err
	}
	d.Tool = cands[0].tool
	d.Args = args
	if len(d.Args) == 0 {
		d.Args = []byte("{}")
	}
	v, err := strictjson.Decode(d.Args, strictjson.Limits{MaxBytes: p.maxBytes, MaxDepth: p.maxDepth, RejectCaseVariants: true})
	if err != nil {
		code := CodeInvalidArgs
		if se, ok := errors.AsType[*strictjson.Error](err); ok && se.Code == strictjson.CodeTooLarge {
			code = CodeArgsTooLarge
		}
		return d, &Error{Code: code, Public: "arguments rejected: " + err.Error()}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return d, &Error{Code: CodeInvalidArgs, Public: "arguments must be a JSON object"}
	}
	d.Value = obj
	g, err := Admit(cands, obj)
	if err != nil {
		return d, err
	}
	d.Grant = g
	return d, nil
}

// Candidates returns the grants that could admit a call of tool by a
// principal holding roles, in the order of roles. An unknown tool and a tool
// no role grants are both refused, with different codes but the same public
// message, so a caller cannot probe which tools exist. The slice may be
// shared: callers must not modify it.
func (p *Policy) Candidates(roles []string, tool string) ([]*Grant, error) {
	if len(roles) == 1 {
		if g, ok := p.grants[roles[0]][tool]; ok {
			return g.alone, nil
		}
	}
	var out []*Grant
	for _, r := range roles {
		if g, ok := p.grants[r][tool]; ok {
			out = append(out, g)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	public := fmt.Sprintf("unknown tool: %q", tool)
	if _, exists := p.set.Tools[tool]; !exists {
		return nil, &Error{Code: CodeUnknownTool, Public: public}
	}
	return nil, &Error{Code: CodeDeniedRole, Public: public}
}

// Admit checks decoded arguments (decoded with json.Number) against each
// candidate grant in turn and returns the first that admits them. When none
// does, the error lists the violations of the first candidate: the tool's
// own schema violations are invalid.arguments, violations only of a role's
// constraints are denied.arguments.
func Admit(candidates []*Grant, args any) (*Grant, error) {
	var first []manifests.Violation
	for i, g := range candidates {
		v := g.schema.Validate(args)
		if len(v) == 0 {
			return g, nil
		}
		if i == 0 {
			first = v
		}
	}
	if len(candidates) == 0 {
		return nil, &Error{Code: CodeDeniedRole, Public: "no grant"}
	}
	code := CodeDeniedArgs
	if len(candidates[0].tool.Schema().Validate(args)) > 0 {
		code = CodeInvalidArgs
	}
	return nil, &Error{Code: code, Public: describe(first), Violations: first}
}

func describe(vs []manifests.Violation) string {
	var b strings.Builder
	b.WriteString("arguments do not match the schema: ")
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		p := v.Pointer
		if p == "" {
			p = "/"
		}
		b.WriteString(p)
		b.WriteString(": ")
		b.WriteString(v.Why)
	}
	return b.String()
}

// Visible returns, for a principal holding roles, one entry per granted
// tool, sorted by name: what tools/list shows. When several roles grant the
// same tool, an unconstrained grant wins (its schema is the manifest's);
// otherwise the first role's effective schema is shown.
func (p *Policy) Visible(roles []string) []*Grant {
	seen := make(map[string]*Grant)
	for _, r := range roles {
		for name, g := range p.grants[r] {
			cur, ok := seen[name]
			if !ok || (cur.constrained && !g.constrained) {
				seen[name] = g
			}
		}
	}
	out := make([]*Grant, 0, len(seen))
	for _, g := range seen {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tool.Name < out[j].tool.Name })
	return out
}

// Roles returns the names of every role, sorted.
func (p *Policy) Roles() []string {
	out := make([]string, 0, len(p.grants))
	for r := range p.grants {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
