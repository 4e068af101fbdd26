package toolwarden_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/toolwarden/toolwarden"

// rule says what one package may depend on, directly or through others:
// exactly the packages of this module in ours (by path relative to the
// module), and, outside the standard library, only paths with one of the
// prefixes in third. why is the reason, shown when the rule is broken.
type rule struct {
	ours  []string
	third []string
	why   string
}

// Third-party sets used by several rules.
var (
	yamlAndSchema = []string{"github.com/goccy/go-yaml", "github.com/xeipuuv/"}
	goPlugin      = []string{"github.com/hashicorp/", "google.golang.org/", "github.com/golang/protobuf", "github.com/fatih/color",
		"github.com/mattn/", "github.com/oklog/run", "golang.org/x/net", "golang.org/x/sys", "golang.org/x/text"}
)

// rules is the whole dependency structure below cmd/: every package of the
// module but cmd/... and examples/... must have a rule, and every rule
// lists everything of ours the package may reach. One-way arrows:
// manifests and sandbox at the bottom, the broker above them, the MCP
// front door above the broker, runtimes beside it; nothing imports cmd.
var rules = map[string]rule{
	"":                     {why: "the module root holds only repository tests"},
	"manifests/strictjson": {why: "the one strict reader of untrusted JSON: the bottom of everything, standard library only"},
	"manifests":            {ours: []string{"manifests/strictjson"}, third: yamlAndSchema, why: "manifests is a leaf: it reads files, it knows no runtime or broker"},

	"sandbox":             {ours: []string{"sandbox/abi", "manifests/strictjson"}, why: "the runner contract is a leaf: standard library and the tool ABI only"},
	"sandbox/abi":         {ours: []string{"manifests/strictjson"}, why: "the tool ABI is shared with tools: standard library only, so it builds for wasip1"},
	"sandbox/sandboxtest": {ours: []string{"sandbox", "sandbox/abi", "manifests/strictjson"}, why: "the fake runner knows only the contract"},
	"sandbox/egress":      {ours: []string{"sandbox", "sandbox/abi", "manifests/strictjson"}, third: []string{"golang.org/x/net", "golang.org/x/text"}, why: "egress is below the runtimes; x/net for IDNA host names"},
	"sandbox/confine":     {third: []string{"golang.org/x/sys/unix"}, why: "the launcher runs from its package init before the broker's heavy packages: standard library and x/sys/unix only"},
	"sandbox/plugin/wire": {third: goPlugin, why: "the plugin protocol is shared by the broker and the tool SDK: go-plugin and gRPC only"},
	"sandbox/wasm": {ours: []string{"sandbox", "sandbox/abi", "sandbox/egress", "manifests/strictjson"},
		third: []string{"github.com/tetratelabs/wazero", "golang.org/x/net", "golang.org/x/text", "golang.org/x/sys"}, why: "a runtime takes a sandbox.Spec, not manifests, and knows no broker; one runtime per package"},
	"sandbox/plugin": {ours: []string{"sandbox", "sandbox/abi", "sandbox/egress", "sandbox/confine", "sandbox/plugin/wire", "manifests/strictjson"},
		third: goPlugin, why: "a runtime takes a sandbox.Spec, not manifests, and knows no broker; one runtime per package"},

	"broker/audit":           {ours: []string{"manifests/strictjson"}, why: "the chain knows records, not the broker"},
	"broker/audit/redact":    {ours: []string{"broker/audit", "manifests/strictjson"}, why: "redaction works on records"},
	"broker/audit/query":     {ours: []string{"broker/audit", "manifests/strictjson"}, why: "readers read records"},
	"broker/audit/audittest": {ours: []string{"broker/audit", "manifests/strictjson"}, why: "test helpers for the audit packages"},
	"broker/screen":          {ours: []string{"manifests/strictjson"}, why: "output screening works on bytes and a redactor it is given"},
	"broker/auth":            {ours: []string{"manifests/strictjson"}, third: []string{"github.com/go-jose/"}, why: "auth only authenticates"},
	"broker/policy":          {ours: []string{"manifests", "manifests/strictjson"}, third: yamlAndSchema, why: "policy decides on manifests; it does not run anything"},
	"broker": {ours: []string{"broker/audit", "broker/audit/redact", "broker/auth", "broker/policy", "broker/screen", "manifests", "manifests/strictjson", "sandbox", "sandbox/abi"},
		third: append([]string{"github.com/go-jose/"}, yamlAndSchema...), why: "the broker is transport-free and never names a runtime: runtimes reach it as sandbox.Runner, MCP stays in mcpserver"},
	"broker/mcpserver": {ours: []string{"broker", "broker/audit", "broker/audit/redact", "broker/auth", "broker/policy", "broker/screen", "manifests", "manifests/strictjson", "sandbox", "sandbox/abi"},
		third: append([]string{"github.com/mark3labs/mcp-go", "github.com/go-jose/", "github.com/google/", "github.com/santhosh-tekuri/", "github.com/spf13/cast",
			"github.com/yosida95/", "golang.org/x/text"}, yamlAndSchema...), why: "the MCP front door is the only user of mcp-go, above the broker and beside the runtimes"},

	"tools/sdk":        {ours: []string{"sandbox/abi", "manifests/strictjson"}, why: "the tool SDK builds for wasip1: standard library and the tool ABI only"},
	"tools/sdk/plugin": {ours: []string{"tools/sdk", "sandbox/abi", "sandbox/plugin/wire", "manifests/strictjson"}, third: goPlugin, why: "plugin tools speak the shared wire protocol"},
}

// free are the folders whose packages may depend on anything of ours:
// the CLI, the benchmark runner, examples and the tools (which the
// Makefile builds, each through tools/sdk).
var free = []string{"cmd/", "examples/", "tools/echo", "tools/jq", "tools/httpfetch", "tools/fsread", "tools/sqlitequery"}

type pkg struct {
	ImportPath string
	Deps       []string
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// go list -json prints one object per package; Deps is transitive.
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list returned %d packages", len(pkgs))
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")
		seen[rel] = true
		if slices.ContainsFunc(free, func(f string) bool { return strings.HasPrefix(rel, f) }) {
			continue
		}
		r, ok := rules[rel]
		if !ok {
			t.Errorf("package %s has no rule in deps_test.go: say what it may depend on, and why", p.ImportPath)
			continue
		}
		for _, d := range p.Deps {
			switch {
			case strings.HasPrefix(d, mod+"/"):
				if dr := strings.TrimPrefix(d, mod+"/"); !slices.Contains(r.ours, dr) {
					t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.why)
				}
			case !strings.Contains(strings.Split(d, "/")[0], "."):
				// the standard library
			case !slices.ContainsFunc(r.third, func(prefix string) bool { return strings.HasPrefix(d, prefix) }):
				t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.why)
			}
		}
	}
	for rel := range rules {
		if !seen[rel] {
			t.Errorf("deps_test.go has a rule for %q, which is no package", rel)
		}
	}
}
