package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// examplesSrc is the examples directory, from the package directory.
var examplesSrc = filepath.Join("..", "..", "examples")

// quickstartData are the steps of `make tools` that write data a quickstart
// tool reads, by tool: the arguments its own binary is run with, from the
// quickstart directory.
var quickstartData = map[string][]string{
	"sqlitequery": {"-generate", "data/sample.db"},
}

// prepareQuickstart does for a copy of examples/quickstart what `make
// tools` does for the original (see prepareExamples) and returns the copy's
// directory.
func prepareQuickstart(t *testing.T) string {
	t.Helper()
	return filepath.Join(prepareExamples(t, "quickstart"), "quickstart")
}

// prepareExamples does for a copy of the named examples what `make tools`
// does for the originals: each config, secret file and manifest is copied
// unchanged to TMP/examples/NAME, every tool a manifest names is built
// where the manifest says (../../../build/...), data the tools read is
// generated, and the tool manifests are pinned. It returns TMP/examples.
func prepareExamples(t *testing.T, names ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "examples")
	for _, name := range names {
		src, dst := filepath.Join(examplesSrc, name), filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Join(dst, "manifests"), 0o700); err != nil {
			t.Fatal(err)
		}
		top, err := filepath.Glob(filepath.Join(src, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range top {
			if base := filepath.Base(f); base == "toolwarden.yaml" || strings.HasSuffix(base, ".secret") {
				if err := copyFile(f, filepath.Join(dst, base)); err != nil {
					t.Fatal(err)
				}
			}
		}
		files, err := filepath.Glob(filepath.Join(src, "manifests", "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s manifests: %v, %v", name, files, err)
		}
		var tools []string
		for _, f := range files {
			out := filepath.Join(dst, "manifests", filepath.Base(f))
			if err := copyFile(f, out); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var head struct {
				Kind string `yaml:"kind"`
			}
			if err := yaml.Unmarshal(data, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if head.Kind != "Tool" {
				continue
			}
			tool, err := manifests.ParseTool(data, out)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			buildExampleTool(t, dst, tool)
			tools = append(tools, out)
		}
		// Start from the shared compilation cache rather than compile again.
		if err := copyTree(e2e.cacheDir, filepath.Join(dst, ".toolwarden", "cache")); err != nil {
			t.Fatal(err)
		}
		if res := runTool(append([]string{"manifest", "pin"}, tools...)...); res.code != 0 {
			t.Fatalf("toolwarden manifest pin: exit %d, %s%s", res.code, res.stdout, res.stderr)
		}
	}
	for _, name := range names {
		var dirs []string
		switch name {
		case "redteam": // it loads the quickstart's manifests too
			dirs = []string{filepath.Join(root, "quickstart", "manifests"), filepath.Join(root, name, "manifests")}
		default:
			dirs = []string{filepath.Join(root, name, "manifests")}
		}
		if res := runTool(append([]string{"manifest", "lint"}, dirs...)...); res.code != 0 || res.stdout != "ok\n" {
			t.Fatalf("toolwarden manifest lint %s: exit %d, %s%s", name, res.code, res.stdout, res.stderr)
		}
	}
	return root
}

// toolSource is the package a tool's artifact is built from: ./tools/NAME,
// or one of the sandbox test fixtures the red-team example serves.
func toolSource(name string, plugin bool) string {
	if _, err := os.Stat(filepath.Join("..", "..", "tools", name)); err == nil {
		return "tools/" + name
	}
	if plugin {
		return "sandbox/plugin/testdata/fixture"
	}
	return "sandbox/wasm/testdata/fixtures/" + name
}

// buildExampleTool builds a tool's artifact at the path its manifest names,
// as `make tools` does.
func buildExampleTool(t *testing.T, dir string, tool *manifests.Tool) {
	t.Helper()
	out := tool.ArtifactPath()
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	switch {
	case tool.Runtime.Wasm != nil:
		name := strings.TrimSuffix(filepath.Base(tool.Runtime.Wasm.Module), ".wasm")
		built, err := sandboxtest.BuildWasmFile(modulePath + "/" + toolSource(name, false))
		if err == nil {
			err = copyFile(built, out)
		}
		if err != nil {
			t.Fatalf("build example tool %s: %v", tool.Name, err)
		}
	case tool.Runtime.Plugin != nil:
		name := filepath.Base(tool.Runtime.Plugin.Command)
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", out, "./"+toolSource(name, true))
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build example plugin %s: %v\n%s", tool.Name, err, msg)
		}
		if args, ok := quickstartData[name]; ok {
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
				t.Fatal(err)
			}
			gen := exec.Command(out, args...)
			gen.Dir, gen.Env = dir, []string{}
			if msg, err := gen.CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, msg)
			}
		}
	default:
		t.Fatalf("example tool %s has no runtime", tool.Name)
	}
}

// TestQuickstart serves examples/quickstart as shipped (see
// prepareQuickstart) and uses it as its README and run.sh do: an analyst
// key made with `keys add --expires 720h`, calls over Streamable HTTP, then
// the stdio host configuration.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	qs := prepareQuickstart(t)
	env := &testEnv{dir: qs, config: filepath.Join(qs, "toolwarden.yaml"), audit: filepath.Join(qs, "audit.log")}
	demo := principal{tenant: "demo", subject: "alice", roles: []string{"analyst"}}
	key := env.addKey(t, demo, "--expires", "720h")

	// What `toolwarden tools list` says the analyst may call is what
	// tools/list must show.
	res := runTool("tools", "list", "--json", "--config", env.config, "--roles", "analyst")
	var granted []struct {
		Name string `json:"name"`
	}
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &granted) != nil {
		t.Fatalf("toolwarden tools list: exit %d, %s%s", res.code, res.stdout, res.stderr)
	}
	var wantTools []string
	for _, g := range granted {
		wantTools = append(wantTools, g.Name)
	}
	if !slices.Contains(wantTools, "echo") || !slices.Contains(wantTools, "jq") {
		t.Fatalf("quickstart analyst may call %v, want echo and jq among them", wantTools)
	}

	srv := env.serveHTTP(t)
	ctx := context.Background()
	c := dialHTTP(t, srv.url, key.secret)
	from := httpCase(srv).from(c)
	who := func(w wantRecord) wantRecord {
		w.who, w.auth, w.keyID, w.from = demo, "apikey", key.id, from
		return w
	}

	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Equal(names, wantTools) {
		t.Errorf("quickstart analyst's tools/list = %v, want %v", names, wantTools)
	}

	mark := env.mark(t)
	out, err := c.CallTool(ctx, callReq("echo", `{"text":"hello"}`))
	rec := env.one(t, mark)
	checkAllowed(t, out, err, `{"text":"hello"}`, rec)
	checkRecord(t, rec, who(wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst"}))

	// run.sh's example of a denial: recursion is outside the analyst's filter pattern.
	mark = env.mark(t)
	out, err = c.CallTool(ctx, callReq("jq", `{"filter":"..","input":{}}`))
	checkRefused(t, out, err, codeDeniedArgs, "/filter")
	checkRecord(t, env.one(t, mark), who(wantRecord{decision: audit.DecisionDeny, reason: codeDeniedArgs, tool: "jq"}))

	mark = env.mark(t)
	out, err = c.CallTool(ctx, callReq("jq", `{"filter":".items[0].name","input":{"items":[{"name":"widget"}]}}`))
	rec = env.one(t, mark)
	if err != nil || out.IsError || !strings.Contains(resultText(out), "widget") {
		t.Errorf("quickstart jq path filter = %+v, %v; want a result holding \"widget\"", out, err)
	}
	checkRecord(t, rec, who(wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "jq", grantedBy: "analyst"}))
	srv.stop(t)

	// The stdio host configuration run.sh prints.
	conn := env.dialStdio(t, key.secret)
	mark = env.mark(t)
	out, err = conn.CallTool(ctx, callReq("echo", `{"text":"hello over stdio"}`))
	rec = env.one(t, mark)
	checkAllowed(t, out, err, `{"text":"hello over stdio"}`, rec)
	checkRecord(t, rec, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst",
		who: demo, auth: "apikey", keyID: key.id, from: stdioCase(env).from(conn.Client)})
	conn.close(t)
	env.verifyAudit(t)
}
