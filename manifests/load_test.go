package manifests

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModule is the artifact the LoadDir tests pin.
var fakeModule = []byte("\x00asm\x01\x00\x00\x00 a fake module")

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// toolYAML returns a tool manifest for a wasm module at module pinned to
// sum, with extra appended.
func toolYAML(name, module, sum, extra string) string {
	return "apiVersion: toolwarden.dev/v1\nkind: Tool\nname: " + name + "\nversion: 1.0.0\n" +
		"description: A test tool.\nruntime:\n  wasm: {module: " + module + ", sha256: \"" + sum + "\"}\n" +
		"inputSchema:\n  type: object\n  properties:\n    url: {type: string}\n    depth: {type: integer}\n" + extra
}

// writeTree writes files (relative path → content) under a new temporary
// directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// baseTree is a valid set: a fetch tool with wildcard egress and limits,
// an echo tool, and an analyst role narrowing fetch.
func baseTree() map[string]string {
	sum := digest(fakeModule)
	return map[string]string{
		"bin/module.wasm": string(fakeModule),
		"tools/fetch.yaml": toolYAML("fetch", "../bin/module.wasm", sum,
			"requires:\n  egress: [\"*.wikipedia.org:443\", \"10.0.0.0/8:8080\"]\nlimits: {timeout: 5s, memory: 64MiB, output: 256KiB}\n"),
		"tools/echo.yaml": toolYAML("echo", "../bin/module.wasm", sum, ""),
		"roles/analyst.yaml": "apiVersion: toolwarden.dev/v1\nkind: Role\nname: analyst\ntools:\n" +
			"  - name: fetch\n    arguments:\n      url: {pattern: \"^https://en\\\\.wikipedia\\\\.org/\"}\n" +
			"    egress: [\"en.wikipedia.org:443\", \"*.de.wikipedia.org:443\", \"10.1.0.0/16:8080\"]\n" +
			"    limits: {timeout: 2s, output: 64KiB}\n    rate: 30/min\n  - name: echo\n",
	}
}

func TestLoadDir(t *testing.T) {
	dir := writeTree(t, baseTree())
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if len(set.Tools) != 2 || len(set.Roles) != 1 {
		t.Fatalf("LoadDir loaded %d tools and %d roles, want 2 and 1", len(set.Tools), len(set.Roles))
	}
	fetch := set.Tools["fetch"]
	if got, want := fetch.ArtifactPath(), filepath.Join(dir, "bin", "module.wasm"); got != want {
		t.Errorf("ArtifactPath() = %q, want %q", got, want)
	}
	if got := fetch.ArtifactSHA256(); got != digest(fakeModule) {
		t.Errorf("ArtifactSHA256() = %q, want %q", got, digest(fakeModule))
	}
	if fetch.RuntimeKind() != RuntimeWasm || fetch.Schema() == nil {
		t.Errorf("RuntimeKind() = %q, Schema() = %v; want wasm and a schema", fetch.RuntimeKind(), fetch.Schema())
	}
	if fetch.File != filepath.Join(dir, "tools", "fetch.yaml") {
		t.Errorf("File = %q", fetch.File)
	}
	if r := set.Roles["analyst"]; r.Tools[0].Rate == nil || r.Tools[0].Rate.String() != "30/min" {
		t.Errorf("analyst's fetch rate = %v, want 30/min", r.Tools[0].Rate)
	}
	if len(set.Hash) != 64 {
		t.Errorf("Hash = %q, want 64 hex digits", set.Hash)
	}
	if ps := Lint(dir); len(ps) != 0 {
		t.Errorf("Lint = %v, want none", ps)
	}

	// The hash is a function of the files: same files, same hash; a changed
	// byte, a different hash.
	again, err := LoadDir(writeTree(t, baseTree()))
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != set.Hash {
		t.Errorf("Hash differs for identical trees: %s vs %s", again.Hash, set.Hash)
	}
	changed := baseTree()
	changed["tools/echo.yaml"] += "# a comment\n"
	other, err := LoadDir(writeTree(t, changed))
	if err != nil {
		t.Fatal(err)
	}
	if other.Hash == set.Hash {
		t.Error("Hash did not change when a manifest changed")
	}
}

func TestLoadDirProblems(t *testing.T) {
	sum := digest(fakeModule)
	tests := []struct {
		name   string
		change func(files map[string]string)
		want   []string // problems, with the temporary directory as "DIR"
	}{
		{
			name: "digest mismatch",
			change: func(f map[string]string) {
				f["bin/module.wasm"] = "tampered"
			},
			want: []string{
				"DIR/tools/echo.yaml: runtime.wasm.sha256: module digest is " + digest([]byte("tampered")) + ", manifest pins " + sum,
				"DIR/tools/fetch.yaml: runtime.wasm.sha256: module digest is " + digest([]byte("tampered")) + ", manifest pins " + sum,
			},
		},
		{
			name: "missing artifact",
			change: func(f map[string]string) {
				f["tools/echo.yaml"] = toolYAML("echo", "missing.wasm", sum, "")
			},
			want: []string{`DIR/tools/echo.yaml: runtime.wasm.module: module "missing.wasm": cannot read: no such file or directory`},
		},
		{
			name: "duplicate tool name",
			change: func(f map[string]string) {
				f["tools/zz-echo.yaml"] = toolYAML("echo", "../bin/module.wasm", sum, "")
			},
			want: []string{`DIR/tools/zz-echo.yaml: name: tool "echo" is already defined in DIR/tools/echo.yaml`},
		},
		{
			name: "duplicate role name",
			change: func(f map[string]string) {
				f["roles/again.yaml"] = f["roles/analyst.yaml"]
			},
			want: []string{`DIR/roles/analyst.yaml: name: role "analyst" is already defined in DIR/roles/again.yaml`},
		},
		{
			name: "unknown tool",
			change: func(f map[string]string) {
				f["roles/other.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Role\nname: other\ntools: [{name: echo}, {name: nope}]\n"
			},
			want: []string{`DIR/roles/other.yaml: tools[1].name: unknown tool "nope"`},
		},
		{
			name: "undeclared argument",
			change: func(f map[string]string) {
				f["roles/other.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Role\nname: other\ntools:\n  - name: echo\n    arguments: {depth: {maximum: 3}, path: {maxLength: 5}}\n"
			},
			want: []string{`DIR/roles/other.yaml: tools[0].arguments.path: tool echo declares no argument "path" in its input schema`},
		},
		{
			name: "egress not within the tool's",
			change: func(f map[string]string) {
				f["roles/other.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Role\nname: other\ntools:\n  - name: fetch\n" +
					"    egress: [\"wikipedia.org:443\", \"en.wikipedia.org:80\", \"http://en.wikipedia.org:443\", \"*.wikimedia.org:443\", \"11.0.0.1:8080\", \"10.0.0.0/7:8080\", \"de.wikipedia.org:443\"]\n" +
					"  - name: echo\n    egress: [\"example.com:443\"]\n"
			},
			want: []string{
				`DIR/roles/other.yaml: tools[0].egress[0]: "wikipedia.org:443" is not within tool fetch's egress (*.wikipedia.org:443, 10.0.0.0/8:8080): a role can only narrow it`,
				`DIR/roles/other.yaml: tools[0].egress[1]: "en.wikipedia.org:80" is not within tool fetch's egress (*.wikipedia.org:443, 10.0.0.0/8:8080): a role can only narrow it`,
				`DIR/roles/other.yaml: tools[0].egress[2]: "http://en.wikipedia.org:443" is not within tool fetch's egress (*.wikipedia.org:443, 10.0.0.0/8:8080): a role can only narrow it`,
				`DIR/roles/other.yaml: tools[0].egress[3]: "*.wikimedia.org:443" is not within tool fetch's egress (*.wikipedia.org:443, 10.0.0.0/8:8080): a role can only narrow it`,
				`DIR/roles/other.yaml: tools[0].egress[4]: "11.0.0.1:8080" is not within tool fetch's egress (*.wikipedia.org:443, 10.0.0.0/8:8080): a role can only narrow it`,
				`DIR/roles/other.yaml: tools[0].egress[5]: "10.0.0.0/7:8080" is not within tool fetch's egress (*.wikipedia.org:443, 10.0.0.0/8:8080): a role can only narrow it`,
				`DIR/roles/other.yaml: tools[1].egress[0]: "example.com:443" is not within tool echo's egress (none): a role can only narrow it`,
			},
		},
		{
			name: "looser limits",
			change: func(f map[string]string) {
				f["roles/other.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Role\nname: other\ntools:\n  - name: fetch\n" +
					"    limits: {timeout: 10s, memory: 128MiB, output: 256KiB}\n  - name: echo\n    limits: {timeout: 1h}\n"
			},
			want: []string{
				`DIR/roles/other.yaml: tools[0].limits.memory: 128MiB is looser than tool fetch's 64MiB: a role can only tighten limits`,
				`DIR/roles/other.yaml: tools[0].limits.timeout: 10s is looser than tool fetch's 5s: a role can only tighten limits`,
			},
		},
		{
			name: "star entry checked against every tool",
			change: func(f map[string]string) {
				f["roles/admin.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Role\nname: admin\ntools:\n  - name: \"*\"\n    egress: [\"en.wikipedia.org:443\"]\n    limits: {output: 1MiB}\n"
			},
			want: []string{
				`DIR/roles/admin.yaml: tools[0].egress[0]: "en.wikipedia.org:443" is not within tool echo's egress (none): a role can only narrow it`,
				`DIR/roles/admin.yaml: tools[0].limits.output: 1MiB is looser than tool fetch's 256KiB: a role can only tighten limits`,
			},
		},
		{
			name: "unknown kind and problems in several files",
			change: func(f map[string]string) {
				f["other/widget.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Widget\n"
				f["other/nokind.json"] = `{"apiVersion": "toolwarden.dev/v1"}`
				f["tools/echo.yaml"] = toolYAML("echo", "../bin/module.wasm", sum, "limits: {timeout: 5x}\n")
			},
			want: []string{
				`DIR/other/nokind.json: kind: required ("Tool" or "Role")`,
				`DIR/other/widget.yaml: kind: "Widget" is not a manifest kind (want "Tool" or "Role")`,
				`DIR/roles/analyst.yaml: tools[1].name: unknown tool "echo"`,
				`DIR/tools/echo.yaml: limits.timeout: "5x" is not a duration`,
			},
		},
		{
			name: "file too large",
			change: func(f map[string]string) {
				f["big.yaml"] = "apiVersion: toolwarden.dev/v1\n#" + strings.Repeat("x", MaxFileBytes) + "\n"
			},
			want: []string{`DIR/big.yaml: file is more than the limit of 1048576 bytes`},
		},
		{
			name: "hidden files and directories are skipped",
			change: func(f map[string]string) {
				f[".git/config.yaml"] = "not: a manifest"
				f["tools/.echo.yaml.swp.yaml"] = "not: a manifest"
				f["README.md"] = "not a manifest"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := baseTree()
			tt.change(files)
			dir := writeTree(t, files)
			var got []string
			for _, p := range Lint(dir) {
				got = append(got, strings.ReplaceAll(p.String(), dir, "DIR"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Lint problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			set, err := LoadDir(dir)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("LoadDir = %v, want success", err)
				}
				return
			}
			var le *LoadError
			if set != nil || !errors.As(err, &le) || len(le.Problems) != len(tt.want) {
				t.Errorf("LoadDir = %v, %v; want nil and a *LoadError with %d problems", set, err, len(tt.want))
			}
		})
	}
}

func TestLoadDirMounts(t *testing.T) {
	sum := digest(fakeModule)
	files := map[string]string{
		"bin/module.wasm":   string(fakeModule),
		"data/a.txt":        "a",
		"tools/fsread.yaml": toolYAML("fsread", "../bin/module.wasm", sum, "requires:\n  mounts: [/data, /ref]\n"),
		"roles/reader.yaml": "apiVersion: toolwarden.dev/v1\nkind: Role\nname: reader\ntools:\n" +
			"  - name: fsread\n    mounts: [{host: ../data, guest: /data}]\n",
	}
	dir := writeTree(t, files)
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	ms := set.Roles["reader"].Tools[0].Mounts
	if len(ms) != 1 || ms[0].Guest != "/data" || ms[0].Host != "../data" || ms[0].HostPath() != filepath.Join(dir, "data") {
		t.Errorf("reader's fsread mounts = %+v (HostPath %q), want ../data at /data resolved to %s", ms, ms[0].HostPath(), filepath.Join(dir, "data"))
	}
	if got := set.Tools["fsread"].Requires.Mounts; strings.Join(got, ",") != "/data,/ref" {
		t.Errorf("fsread requires.mounts = %q", got)
	}

	for _, tc := range []struct {
		name, mounts, want string
	}{
		{"undeclared guest path", "[{host: ../data, guest: /secrets}]", `DIR/roles/reader.yaml: tools[0].mounts[0].guest: tool fsread does not declare "/secrets" in requires.mounts (it declares /data, /ref)`},
		{"missing host directory", "[{host: ../nope, guest: /data}]", `DIR/roles/reader.yaml: tools[0].mounts[0].host: "../nope": no such file or directory`},
		{"host is a file", "[{host: ../data/a.txt, guest: /data}]", `DIR/roles/reader.yaml: tools[0].mounts[0].host: "../data/a.txt" is not a directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := maps.Clone(files)
			f["roles/reader.yaml"] = "apiVersion: toolwarden.dev/v1\nkind: Role\nname: reader\ntools:\n  - name: fsread\n    mounts: " + tc.mounts + "\n"
			dir := writeTree(t, f)
			var got []string
			for _, p := range Lint(dir) {
				got = append(got, strings.ReplaceAll(p.String(), dir, "DIR"))
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("Lint problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
}

func TestLoadDirNoManifests(t *testing.T) {
	empty := t.TempDir()
	if ps := Lint(empty); len(ps) != 1 || !strings.Contains(ps[0].Why, "no manifest files") {
		t.Errorf("Lint(empty dir) = %v, want one problem about no manifest files", ps)
	}
	missing := filepath.Join(empty, "nope")
	_, err := LoadDir(missing)
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || le.Problems[0].File != missing {
		t.Errorf("LoadDir(missing dir) = %v, want one problem naming the directory", err)
	}
}

// TestLoadQuickstart loads the shipped quickstart manifests, with the
// artifacts they pin replaced by fakes pinned here and the directories
// their roles mount created empty.
func TestLoadQuickstart(t *testing.T) {
	src := filepath.Join("..", "examples", "quickstart", "manifests")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Skipf("quickstart manifests unreadable (%v): the shipped examples go untested here", err)
	}
	files := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["manifests/"+e.Name()] = string(data)
	}
	dir := writeTree(t, files)
	var tools, roles int
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if tool, err := ParseTool([]byte(content), path); err == nil {
			tools++
			if err := os.MkdirAll(filepath.Dir(tool.ArtifactPath()), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tool.ArtifactPath(), []byte(tool.Name+" artifact"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Pin(path); err != nil {
				t.Fatalf("Pin(%s): %v", name, err)
			}
			continue
		}
		role, err := ParseRole([]byte(content), path)
		if err != nil {
			t.Fatalf("%s is neither a tool nor a role manifest: %v", name, err)
		}
		roles++
		for _, rt := range role.Tools {
			for _, m := range rt.Mounts {
				if err := os.MkdirAll(m.HostPath(), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	set, err := LoadDir(filepath.Join(dir, "manifests"))
	if err != nil {
		t.Fatalf("LoadDir(quickstart): %v", err)
	}
	if len(set.Tools) != tools || len(set.Roles) != roles || tools < 2 || roles < 2 {
		t.Errorf("quickstart has %d tools and %d roles, want %d and %d (at least 2 each)", len(set.Tools), len(set.Roles), tools, roles)
	}
}

// TestLoadDirs loads tools from one directory and roles from another as
// one set, and refuses a name defined in both.
func TestLoadDirs(t *testing.T) {
	tree := baseTree()
	role := tree["roles/analyst.yaml"]
	delete(tree, "roles/analyst.yaml")
	tools := writeTree(t, tree)
	roles := writeTree(t, map[string]string{"analyst.yaml": role})
	set, err := LoadDirs(tools, roles)
	if err != nil {
		t.Fatalf("LoadDirs: %v", err)
	}
	if len(set.Tools) != 2 || len(set.Roles) != 1 {
		t.Errorf("loaded %d tools and %d roles, want 2 and 1", len(set.Tools), len(set.Roles))
	}
	if _, err := LoadDirs(tools, tools); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Errorf("LoadDirs of one directory twice = %v, want the duplicates refused", err)
	}
}
