package toolwarden_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/toolwarden/toolwarden"

// rule forbids packages matching from (a prefix of the import path relative
// to the module, "" for the root) to depend on any path with a forbidden
// prefix, for the reason given.
type rule struct {
	from   string
	forbid map[string]string // import path prefix → reason
}

var (
	runtimes = map[string]string{
		"github.com/tetratelabs/wazero":  "runtimes reach the broker as sandbox.Runner",
		"github.com/hashicorp/go-plugin": "runtimes reach the broker as sandbox.Runner",
		mod + "/sandbox/wasm":            "runtimes reach the broker as sandbox.Runner",
		mod + "/sandbox/plugin":          "runtimes reach the broker as sandbox.Runner",
		mod + "/cmd":                     "nothing imports cmd",
		"github.com/mark3labs/mcp-go":    "only broker/mcpserver speaks MCP",
	}
	ours = map[string]string{mod + "/": "this package is a leaf: it imports none of ours"}
)

var rules = []rule{
	{"manifests", map[string]string{mod + "/broker": "manifests is a leaf", mod + "/sandbox": "manifests is a leaf", mod + "/cmd": "manifests is a leaf", mod + "/tools": "manifests is a leaf"}},
	{"sandbox", ours},
	{"sandbox/egress", map[string]string{mod + "/broker": "egress is shared by runtimes, below the broker", mod + "/manifests": "egress takes patterns, not manifests", mod + "/sandbox/wasm": "egress is below the runtimes", mod + "/sandbox/plugin": "egress is below the runtimes"}},
	{"sandbox/wasm", map[string]string{mod + "/broker": "runtimes do not know the broker", mod + "/manifests": "runtimes take a sandbox.Spec, not manifests", "github.com/hashicorp/go-plugin": "one runtime per package"}},
	{"sandbox/plugin", map[string]string{mod + "/broker": "runtimes do not know the broker", mod + "/manifests": "runtimes take a sandbox.Spec, not manifests", "github.com/tetratelabs/wazero": "one runtime per package"}},
	{"broker", runtimes},
	{"broker/policy", map[string]string{mod + "/broker": "policy is below the broker", mod + "/sandbox": "policy decides, it does not run"}},
	{"broker/audit", ours},
	{"broker/auth", map[string]string{mod + "/broker/audit": "auth only authenticates", mod + "/broker/policy": "auth only authenticates", mod + "/sandbox": "auth only authenticates", mod + "/manifests": "auth only authenticates"}},
	{"tools/sdk", ours},
	{"manifests/strictjson", ours},
}

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
	if len(pkgs) == 0 {
		t.Fatal("go list returned no packages")
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")
		for _, r := range rules {
			// broker's rule covers broker/... except mcpserver, which is the MCP front door.
			if !(rel == r.from || strings.HasPrefix(rel, r.from+"/")) {
				continue
			}
			for _, d := range p.Deps {
				for prefix, why := range r.forbid {
					if !strings.HasPrefix(d, prefix) || strings.HasPrefix(d, mod+"/"+r.from) {
						continue
					}
					if rel == "broker/mcpserver" && prefix == "github.com/mark3labs/mcp-go" {
						continue
					}
					if d == mod+"/manifests/strictjson" {
						continue // the one JSON scanner for untrusted input, itself a leaf (see its rule)
					}
					t.Errorf("%s imports %s: %s", p.ImportPath, d, why)
				}
			}
		}
	}
}
