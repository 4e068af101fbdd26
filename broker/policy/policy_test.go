package policy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
)

const toolHeader = `apiVersion: toolwarden.dev/v1
kind: Tool
name: %s
version: 1.0.0
description: Tool %s for policy tests.
runtime:
  wasm: {module: %s.wasm, sha256: "%s"}
`

// textSchema is the input schema of a tool written with an empty body.
const textSchema = `inputSchema:
  type: object
  properties:
    text: {type: string, maxLength: 64}
    count: {type: integer}
  required: [text]
  additionalProperties: false
`

// fixture is a manifest directory under construction.
type fixture struct {
	t     *testing.T
	dir   string
	tools [][]byte
	roles [][]byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, dir: t.TempDir()}
}

func (f *fixture) write(name string, data []byte) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// tool writes a tool manifest, pinned to an artifact it also writes; body
// is the YAML after the header (textSchema when empty).
func (f *fixture) tool(name, body string) *fixture {
	f.t.Helper()
	if body == "" {
		body = textSchema
	}
	art := []byte("artifact of " + name)
	f.write(name+".wasm", art)
	sum := sha256.Sum256(art)
	data := []byte(fmt.Sprintf(toolHeader, name, name, name, hex.EncodeToString(sum[:])) + body)
	f.write("tool-"+name+".yaml", data)
	f.tools = append(f.tools, data)
	return f
}

// role writes a role manifest; entries is the YAML list under "tools:".
func (f *fixture) role(name, entries string) *fixture {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: toolwarden.dev/v1\nkind: Role\nname: %s\ntools:\n", name)
	for _, line := range strings.Split(strings.TrimRight(entries, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	data := []byte(b.String())
	f.write("role-"+name+".yaml", data)
	f.roles = append(f.roles, data)
	return f
}

// load loads the directory as the broker does.
func (f *fixture) load() *manifests.Set {
	f.t.Helper()
	set, err := manifests.LoadDir(f.dir)
	if err != nil {
		f.t.Fatalf("LoadDir: %v", err)
	}
	return set
}

// parsed builds a set from the same manifests without LoadDir's
// cross-checks, to see what policy does on its own with a role the loader
// would refuse.
func (f *fixture) parsed() *manifests.Set {
	f.t.Helper()
	set := &manifests.Set{Tools: map[string]*manifests.Tool{}, Roles: map[string]*manifests.Role{}}
	for _, data := range f.tools {
		tool, err := manifests.ParseTool(data, filepath.Join(f.dir, "tool.yaml"))
		if err != nil {
			f.t.Fatalf("ParseTool: %v", err)
		}
		set.Tools[tool.Name] = tool
	}
	for _, data := range f.roles {
		role, err := manifests.ParseRole(data, filepath.Join(f.dir, "role.yaml"))
		if err != nil {
			f.t.Fatalf("ParseRole: %v", err)
		}
		set.Roles[role.Name] = role
	}
	return set
}

func newPolicy(t *testing.T, set *manifests.Set, defaults policy.Limits) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.Config{Set: set, Limits: defaults})
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	return p
}

// args decodes call arguments as the broker does, with json.Number.
func args(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// policyError returns err as a *policy.Error with code want.
func policyError(t *testing.T, err error, want string) *policy.Error {
	t.Helper()
	var pe *policy.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got error %v (%T), want *policy.Error with code %s", err, err, want)
	}
	if pe.Code != want || pe.ReasonCode() != want {
		t.Fatalf("got code %q (ReasonCode %q), want %q; error: %v", pe.Code, pe.ReasonCode(), want, pe)
	}
	return pe
}

// single returns the one grant role holds on tool.
func single(t *testing.T, p *policy.Policy, role, tool string) *policy.Grant {
	t.Helper()
	gs, err := p.Candidates([]string{role}, tool)
	if err != nil {
		t.Fatalf("Candidates([%s], %s): %v", role, tool, err)
	}
	if len(gs) != 1 {
		t.Fatalf("Candidates([%s], %s): got %d grants, want 1", role, tool, len(gs))
	}
	return gs[0]
}

func TestDenyByDefault(t *testing.T) {
	f := newFixture(t).tool("echo", "").tool("secret", "")
	f.role("analyst", "- name: echo").role("keeper", "- name: secret")
	p := newPolicy(t, f.load(), policy.Limits{})

	tests := []struct {
		name  string
		roles []string
		tool  string
		code  string
	}{
		{"role without an entry for the tool", []string{"analyst"}, "secret", policy.CodeDeniedRole},
		{"several roles, none granting", []string{"analyst", "nobody"}, "secret", policy.CodeDeniedRole},
		{"role that does not exist", []string{"nobody"}, "echo", policy.CodeDeniedRole},
		{"no roles at all", nil, "echo", policy.CodeDeniedRole},
		{"empty role list", []string{}, "secret", policy.CodeDeniedRole},
		{"unknown tool", []string{"analyst"}, "ghost", policy.CodeUnknownTool},
		{"unknown tool without roles", nil, "ghost", policy.CodeUnknownTool},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := p.Candidates(tc.roles, tc.tool)
			if gs != nil {
				t.Errorf("got %d grants, want none", len(gs))
			}
			pe := policyError(t, err, tc.code)
			// The public message must not tell a denied tool from an unknown one.
			if got, want := pe.Public, fmt.Sprintf("unknown tool: %q", tc.tool); got != want {
				t.Errorf("got Public %q, want %q", got, want)
			}
		})
	}

	t.Run("no candidates admits nothing", func(t *testing.T) {
		_, err := policy.Admit(nil, args(t, `{"text":"hi"}`))
		policyError(t, err, policy.CodeDeniedRole)
	})
	t.Run("nil set", func(t *testing.T) {
		if p, err := policy.New(policy.Config{}); err == nil {
			t.Errorf("New(nil): got %v, nil error; want an error", p)
		}
	})
}

func TestArgumentConstraints(t *testing.T) {
	f := newFixture(t).tool("echo", "").tool("lookup", `inputSchema:
  $schema: https://json-schema.org/draft/2020-12/schema
  type: object
  $defs:
    word: {type: string, maxLength: 8}
  properties:
    word: {$ref: "#/$defs/word"}
  required: [word]
  additionalProperties: false
`)
	f.role("narrow", `- name: echo
  arguments:
    text: {pattern: "^hello"}
    count: {maximum: 10}
- name: lookup
  arguments:
    word: {pattern: "^a"}`)
	f.role("open", "- name: echo\n- name: lookup")
	set := f.load()
	p := newPolicy(t, set, policy.Limits{})

	tests := []struct {
		name, role, tool, args string
		code                   string // "" means admitted
		pointer                string // a violation that must be reported
	}{
		{"valid for tool and role", "narrow", "echo", `{"text":"hello world","count":3}`, "", ""},
		{"role pattern violated", "narrow", "echo", `{"text":"goodbye"}`, policy.CodeDeniedArgs, "/text"},
		{"role maximum violated", "narrow", "echo", `{"text":"hello","count":11}`, policy.CodeDeniedArgs, "/count"},
		{"same arguments without constraint", "open", "echo", `{"text":"goodbye","count":11}`, "", ""},
		{"tool maxLength violated", "narrow", "echo", `{"text":"hello` + strings.Repeat("!", 64) + `"}`, policy.CodeInvalidArgs, "/text"},
		{"tool forbids extra argument", "narrow", "echo", `{"text":"hello","extra":1}`, policy.CodeInvalidArgs, "/extra"},
		{"tool requires argument", "narrow", "echo", `{}`, policy.CodeInvalidArgs, "/text"},
		{"tool and role violated", "open", "echo", `{"text":7}`, policy.CodeInvalidArgs, "/text"},
		{"$ref schema, valid", "narrow", "lookup", `{"word":"abc"}`, "", ""},
		{"$ref schema, role violated", "narrow", "lookup", `{"word":"bcd"}`, policy.CodeDeniedArgs, "/word"},
		{"$ref schema, $defs target violated", "narrow", "lookup", `{"word":"abcdefghij"}`, policy.CodeInvalidArgs, "/word"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := policy.Admit([]*policy.Grant{single(t, p, tc.role, tc.tool)}, args(t, tc.args))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want admitted", err)
				}
				if g.Role() != tc.role || g.Tool().Name != tc.tool {
					t.Errorf("got grant %s/%s, want %s/%s", g.Role(), g.Tool().Name, tc.role, tc.tool)
				}
				return
			}
			if g != nil {
				t.Errorf("got grant of %s, want none", g.Role())
			}
			pe := policyError(t, err, tc.code)
			var pointers []string
			for _, v := range pe.Violations {
				pointers = append(pointers, v.Pointer)
			}
			if !slices.Contains(pointers, tc.pointer) {
				t.Errorf("got violations at %q, want one at %q", pointers, tc.pointer)
			}
			if !strings.Contains(pe.Public, tc.pointer) {
				t.Errorf("got Public %q, want it to name %q", pe.Public, tc.pointer)
			}
		})
	}

	t.Run("effective schema", func(t *testing.T) {
		for _, tool := range []string{"echo", "lookup"} {
			open, narrow := single(t, p, "open", tool), single(t, p, "narrow", tool)
			if open.Constrained() || !narrow.Constrained() {
				t.Errorf("%s: got Constrained open=%v narrow=%v, want false, true", tool, open.Constrained(), narrow.Constrained())
			}
			if got, want := open.InputSchema(), set.Tools[tool].InputSchema; !bytes.Equal(got, want) {
				t.Errorf("%s: got unconstrained schema %s, want the manifest's %s", tool, got, want)
			}
			if _, err := manifests.CompileSchema(narrow.InputSchema()); err != nil {
				t.Errorf("%s: constrained schema %s does not compile: %v", tool, narrow.InputSchema(), err)
			}
		}
		if s := string(single(t, p, "narrow", "lookup").InputSchema()); !strings.Contains(s, `"$defs"`) || !strings.Contains(s, `"allOf"`) {
			t.Errorf("got constrained schema %s, want the tool's $defs kept and the constraint under allOf", s)
		}
	})
}

func TestSeveralRoles(t *testing.T) {
	f := newFixture(t).tool("echo", "").tool("calc", "")
	f.role("narrow", "- name: echo\n  arguments:\n    text: {pattern: \"^hello\"}")
	f.role("narrower", "- name: echo\n  arguments:\n    text: {pattern: \"^hello!\"}")
	f.role("open", "- name: echo")
	f.role("other", "- name: calc")
	p := newPolicy(t, f.load(), policy.Limits{})

	tests := []struct {
		name      string
		roles     []string
		args      string
		wantOrder []string
		admitted  string // role whose grant admits; "" means refused
	}{
		{"constrained first, constrained admits", []string{"narrow", "open"}, `{"text":"hello"}`, []string{"narrow", "open"}, "narrow"},
		{"constrained first, only unconstrained admits", []string{"narrow", "open"}, `{"text":"bye"}`, []string{"narrow", "open"}, "open"},
		{"unconstrained first", []string{"open", "narrow"}, `{"text":"hello"}`, []string{"open", "narrow"}, "open"},
		{"roles without the tool are skipped", []string{"other", "nobody", "narrower", "narrow"}, `{"text":"hello"}`, []string{"narrower", "narrow"}, "narrow"},
		{"no grant admits", []string{"narrower", "narrow"}, `{"text":"bye"}`, []string{"narrower", "narrow"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := p.Candidates(tc.roles, "echo")
			if err != nil {
				t.Fatalf("Candidates: %v", err)
			}
			var got []string
			for _, g := range gs {
				got = append(got, g.Role())
			}
			if !slices.Equal(got, tc.wantOrder) {
				t.Fatalf("got candidates %q, want %q", got, tc.wantOrder)
			}
			g, err := policy.Admit(gs, args(t, tc.args))
			if tc.admitted == "" {
				pe := policyError(t, err, policy.CodeDeniedArgs)
				// The violations are those of the first candidate.
				if len(pe.Violations) == 0 || pe.Violations[0].Pointer != "/text" || !strings.Contains(pe.Violations[0].Why, "hello!") {
					t.Errorf("got violations %+v, want the first candidate's pattern at /text", pe.Violations)
				}
				return
			}
			if err != nil {
				t.Fatalf("Admit: %v", err)
			}
			if g.Role() != tc.admitted {
				t.Errorf("got Role() %q, want %q", g.Role(), tc.admitted)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	toolBody := textSchema + "limits: {timeout: 5s, memory: 32MiB, output: 64KiB}\n"
	lim := func(d time.Duration, mem, out int64) policy.Limits {
		return policy.Limits{Timeout: d, MemoryBytes: mem, OutputBytes: out}
	}
	toolLimits := lim(5*time.Second, 32<<20, 64<<10)
	custom := lim(3*time.Second, 8<<20, 4<<10)
	dl := policy.DefaultLimits
	tests := []struct {
		name       string
		toolBody   string
		roleLimits string // YAML flow mapping, "" for none
		defaults   policy.Limits
		loadable   bool // false: LoadDir refuses the role
		want       policy.Limits
	}{
		{"tool limits, role none", toolBody, "", policy.Limits{}, true, toolLimits},
		{"role tighter", toolBody, "{timeout: 2s, memory: 16MiB, output: 32KiB}", policy.Limits{}, true, lim(2*time.Second, 16<<20, 32<<10)},
		{"role tighter on one limit", toolBody, "{memory: 1MiB}", policy.Limits{}, true, lim(5*time.Second, 1<<20, 64<<10)},
		{"role looser keeps the tool's", toolBody, "{timeout: 1m, memory: 1GiB, output: 1MiB}", policy.Limits{}, false, toolLimits},
		{"neither sets limits", "", "", policy.Limits{}, true, dl},
		{"neither sets limits, custom defaults", "", "", custom, true, custom},
		{"zero default fields take DefaultLimits", "", "", lim(time.Second, 0, 0), true, lim(time.Second, dl.MemoryBytes, dl.OutputBytes)},
		{"tool limits win over defaults", toolBody, "", custom, true, toolLimits},
		{"role tighter than defaults", "", "{timeout: 1s, memory: 1MiB, output: 1KiB}", policy.Limits{}, true, lim(time.Second, 1<<20, 1<<10)},
		{"role looser than defaults keeps defaults", "", "{timeout: 1h, memory: 1GiB, output: 1GiB}", policy.Limits{}, true, dl},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entry := "- name: echo"
			if tc.roleLimits != "" {
				entry += "\n  limits: " + tc.roleLimits
			}
			f := newFixture(t).tool("echo", tc.toolBody).role("r", entry)
			var set *manifests.Set
			if tc.loadable {
				set = f.load()
			} else {
				if _, err := manifests.LoadDir(f.dir); err == nil {
					t.Fatal("LoadDir: got nil error, want a role looser than its tool refused")
				}
				set = f.parsed()
			}
			if got := single(t, newPolicy(t, set, tc.defaults), "r", "echo").Limits(); got != tc.want {
				t.Errorf("got limits %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEgress(t *testing.T) {
	toolBody := textSchema + "requires:\n  egress: [\"*.example.com:443\", \"api.other.org:443\"]\n"
	tests := []struct {
		name   string
		egress string // YAML after "egress:", "" for no egress key
		want   []string
	}{
		{"no role egress takes the tool's", "", []string{"*.example.com:443", "api.other.org:443"}},
		{"role subset", `["api.example.com:443"]`, []string{"api.example.com:443"}},
		{"empty role list means no egress", `[]`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entry := "- name: fetch"
			if tc.egress != "" {
				entry += "\n  egress: " + tc.egress
			}
			p := newPolicy(t, newFixture(t).tool("fetch", toolBody).role("r", entry).load(), policy.Limits{})
			g := single(t, p, "r", "fetch")
			got := g.Egress()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got egress %q, want %q", got, tc.want)
			}
			if len(got) > 0 {
				got[0] = "evil.test:443"
				if again := g.Egress(); !slices.Equal(again, tc.want) {
					t.Errorf("got egress %q after modifying a returned copy, want %q", again, tc.want)
				}
			}
		})
	}
	for _, bad := range []string{`["evil.test:443"]`, `["api.other.org:8443"]`, `["example.com:443"]`} {
		t.Run("loader refuses non-subset "+bad, func(t *testing.T) {
			f := newFixture(t).tool("fetch", toolBody).role("r", "- name: fetch\n  egress: "+bad)
			if _, err := manifests.LoadDir(f.dir); err == nil {
				t.Errorf("LoadDir: got nil error, want egress %s refused", bad)
			}
		})
	}
}

func TestWildcard(t *testing.T) {
	const wildcard = "- name: \"*\"\n  limits: {timeout: 1s}"
	// The explicit entry replaces "*" for echo, so it must state the
	// limits "*" sets (the loader refuses it otherwise); its own value,
	// here looser, applies.
	const explicit = "- name: echo\n  arguments:\n    text: {pattern: \"^hello\"}\n  limits: {timeout: 2s}"
	tests := []struct{ name, entries string }{
		{"explicit before wildcard", explicit + "\n" + wildcard},
		{"explicit after wildcard", wildcard + "\n" + explicit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t).tool("echo", "").tool("calc", "").tool("fetch", "")
			p := newPolicy(t, f.role("admin", tc.entries).load(), policy.Limits{})
			for _, tool := range []string{"calc", "fetch"} {
				g := single(t, p, "admin", tool)
				if g.Constrained() || g.Tool().Name != tool {
					t.Errorf("%s: got grant of %s, constrained %v; want the tool unconstrained", tool, g.Tool().Name, g.Constrained())
				}
				if got, want := g.Limits().Timeout, time.Second; got != want {
					t.Errorf("%s: got timeout %v, want the wildcard's %v", tool, got, want)
				}
			}
			echo := single(t, p, "admin", "echo")
			if !echo.Constrained() {
				t.Fatal("echo: got an unconstrained grant, want the explicit entry's constraint")
			}
			if got, want := echo.Limits().Timeout, 2*time.Second; got != want {
				t.Errorf("echo: got timeout %v, want the explicit entry's %v", got, want)
			}
			_, err := policy.Admit([]*policy.Grant{echo}, args(t, `{"text":"bye"}`))
			policyError(t, err, policy.CodeDeniedArgs)
			if got := len(p.Visible([]string{"admin"})); got != 3 {
				t.Errorf("got %d visible tools, want 3", got)
			}
			_, err = p.Candidates([]string{"admin"}, "ghost")
			policyError(t, err, policy.CodeUnknownTool)
		})
	}
}

// A wildcard never reaches a tool the broker hands secrets to: such a tool
// is granted by name, so that a "*" written before it existed cannot.
func TestWildcardSkipsToolsWithSecrets(t *testing.T) {
	f := newFixture(t).tool("echo", "").tool("vault", textSchema+"requires:\n  secrets: [VAULT_TOKEN]\n")
	f.role("admin", "- name: \"*\"").role("ops", "- name: \"*\"\n- name: vault")
	p := newPolicy(t, f.load(), policy.Limits{})
	single(t, p, "admin", "echo")
	_, err := p.Candidates([]string{"admin"}, "vault")
	policyError(t, err, policy.CodeDeniedRole)
	if got := len(p.Visible([]string{"admin"})); got != 1 {
		t.Errorf("admin sees %d tools, want 1 (echo; not vault)", got)
	}
	if g := single(t, p, "ops", "vault"); g.Tool().Name != "vault" {
		t.Errorf("ops: got grant of %s, want vault granted by name", g.Tool().Name)
	}
}

func TestVisible(t *testing.T) {
	f := newFixture(t).tool("alpha", "").tool("bravo", "").tool("charlie", "").tool("delta", "")
	constrained := "  arguments:\n    text: {pattern: \"^hello\"}"
	f.role("first", "- name: charlie\n"+constrained+"\n- name: alpha")
	f.role("second", "- name: charlie\n- name: bravo")
	f.role("third", "- name: charlie\n"+constrained+"\n- name: bravo\n"+constrained)
	f.role("all", `- name: "*"`)
	p := newPolicy(t, f.load(), policy.Limits{})

	type shown struct {
		tool, role  string
		constrained bool
	}
	tests := []struct {
		name  string
		roles []string
		want  []shown
	}{
		{"one role", []string{"first"}, []shown{{"alpha", "first", false}, {"charlie", "first", true}}},
		{"unconstrained grant wins", []string{"first", "second"},
			[]shown{{"alpha", "first", false}, {"bravo", "second", false}, {"charlie", "second", false}}},
		{"unconstrained grant wins in either order", []string{"second", "first"},
			[]shown{{"alpha", "first", false}, {"bravo", "second", false}, {"charlie", "second", false}}},
		{"both constrained: first role's", []string{"third", "first"},
			[]shown{{"alpha", "first", false}, {"bravo", "third", true}, {"charlie", "third", true}}},
		{"wildcard lists every tool once", []string{"first", "all", "second"},
			[]shown{{"alpha", "first", false}, {"bravo", "all", false}, {"charlie", "all", false}, {"delta", "all", false}}},
		{"no roles", nil, nil},
		{"unknown role", []string{"nobody"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []shown
			for _, g := range p.Visible(tc.roles) {
				got = append(got, shown{g.Tool().Name, g.Role(), g.Constrained()})
				if !g.Constrained() && !bytes.Equal(g.InputSchema(), g.Tool().InputSchema) {
					t.Errorf("%s: got schema %s, want the manifest's", g.Tool().Name, g.InputSchema())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCandidatesOneRole(t *testing.T) {
	f := newFixture(t).tool("echo", "").tool("calc", "")
	p := newPolicy(t, f.role("r", "- name: echo\n  rate: 30/min\n- name: calc").role("s", "- name: echo").load(), policy.Limits{})

	a := single(t, p, "r", "echo")
	b := single(t, p, "r", "echo")
	if a != b {
		t.Errorf("got different grants %p and %p for the same role and tool, want the same", a, b)
	}
	if a.Role() != "r" || a.Tool().Name != "echo" {
		t.Errorf("got grant %s/%s, want r/echo", a.Role(), a.Tool().Name)
	}
	if got := single(t, p, "r", "calc"); got == a {
		t.Error("got the echo grant for calc, want its own")
	}
	gs, err := p.Candidates([]string{"s", "r"}, "echo")
	if err != nil || len(gs) != 2 || gs[1] != a {
		t.Errorf("got %d candidates (err %v), want [s r] sharing r's grant", len(gs), err)
	}
	if r := a.Rate(); r == nil || r.Calls != 30 || r.Window != time.Minute {
		t.Errorf("got rate %+v, want 30/min", r)
	}
	if r := single(t, p, "s", "echo").Rate(); r != nil {
		t.Errorf("got rate %+v, want none", r)
	}
}

func TestDecide(t *testing.T) {
	set := newFixture(t).tool("echo", "").tool("other", "").
		role("analyst", "- name: echo\n  arguments:\n    text: {pattern: \"^hi\"}").load()
	p, err := policy.New(policy.Config{Set: set, MaxArgumentBytes: 64, MaxArgumentDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, tool, args string
		code             string // "" admits
		decoded          bool   // Decision.Value set
	}{
		{"admitted", "echo", `{"text":"hi there"}`, "", true},
		{"no arguments is an empty object", "echo", ``, policy.CodeInvalidArgs, true},
		{"unknown tool", "nope", `{}`, policy.CodeUnknownTool, false},
		{"not granted", "other", `{"text":"hi"}`, policy.CodeDeniedRole, false},
		{"outside the role", "echo", `{"text":"bye"}`, policy.CodeDeniedArgs, true},
		{"against the tool", "echo", `{"text":1}`, policy.CodeInvalidArgs, true},
		{"too large", "echo", `{"text":"hi` + strings.Repeat(" ", 64) + `"}`, policy.CodeArgsTooLarge, false},
		{"too deep", "echo", `{"text":"hi","x":[[[1]]]}`, policy.CodeInvalidArgs, false},
		{"duplicate key", "echo", `{"text":"hi","text":"bye"}`, policy.CodeInvalidArgs, false},
		{"case-variant key", "echo", `{"text":"hi","TEXT":"bye"}`, policy.CodeInvalidArgs, false},
		{"case variant spelt with an escape", "echo", `{"text":"hi","T\u0045XT":"bye"}`, policy.CodeInvalidArgs, false},
		{"number beyond float range", "echo", `{"text":"hi","count":1e999}`, policy.CodeInvalidArgs, true},
		{"not an object", "echo", `["hi"]`, policy.CodeInvalidArgs, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Decide([]string{"analyst"}, tt.tool, []byte(tt.args))
			got := ""
			if pe, ok := errors.AsType[*policy.Error](err); ok {
				got = pe.Code
			} else if err != nil {
				t.Fatalf("Decide error %T %v is not a *policy.Error", err, err)
			}
			if got != tt.code {
				t.Fatalf("Decide(%s, %s) code = %q (%v), want %q", tt.tool, tt.args, got, err, tt.code)
			}
			if (d.Value != nil) != tt.decoded {
				t.Errorf("Decide(%s) decoded = %v, want %v", tt.args, d.Value != nil, tt.decoded)
			}
			if (d.Grant != nil) != (tt.code == "") {
				t.Errorf("Decide(%s) grant = %v with code %q", tt.args, d.Grant, got)
			}
			if tt.code == "" && string(d.Args) != tt.args {
				t.Errorf("Decide args = %s, want the caller's bytes %s", d.Args, tt.args)
			}
		})
	}
}
