package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPin(t *testing.T) {
	zeros := strings.Repeat("0", 64)
	tests := []struct {
		name     string
		file     string
		manifest string
	}{
		{
			name: "yaml block style, double-quoted",
			file: "tool.yaml",
			manifest: "# A comment that stays.\napiVersion: toolwarden.dev/v1\nkind: Tool\nname: echo\nversion: 1.0.0\n" +
				"description: Echo.   # trailing comment\nruntime:\n  wasm:\n    module: bin/echo.wasm\n    sha256: \"" + zeros + "\"   # pinned\n" +
				"inputSchema: {type: object}\n",
		},
		{
			name: "yaml flow style, single-quoted",
			file: "tool.yml",
			manifest: "apiVersion: toolwarden.dev/v1\nkind: Tool\nname: echo\nversion: 1.0.0\ndescription: Echo.\n" +
				"runtime: {plugin: {command: bin/echo.wasm, sha256: '" + zeros + "'}}\ninputSchema: {type: object}\n",
		},
		{
			name: "json",
			file: "tool.json",
			manifest: "{\n  \"apiVersion\": \"toolwarden.dev/v1\", \"kind\": \"Tool\", \"name\": \"echo\", \"version\": \"1.0.0\",\n" +
				"  \"description\": \"Echo.\",\n  \"runtime\": {\"wasm\": {\"module\": \"bin/echo.wasm\",\n    \"sha256\": \"" + zeros + "\"}},\n" +
				"  \"inputSchema\": {\"type\": \"object\"}\n}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{tt.file: tt.manifest, "bin/echo.wasm": string(fakeModule)})
			path := filepath.Join(dir, tt.file)
			changed, err := Pin(path)
			if err != nil || !changed {
				t.Fatalf("Pin = %v, %v; want true, nil", changed, err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Replace(tt.manifest, zeros, digest(fakeModule), 1); string(got) != want {
				t.Errorf("pinned file:\n%s\nwant:\n%s", got, want)
			}
			if changed, err := Pin(path); err != nil || changed {
				t.Errorf("second Pin = %v, %v; want false, nil", changed, err)
			}
			if _, err := LoadDir(dir); err != nil {
				t.Errorf("LoadDir after Pin: %v", err)
			}
		})
	}
}

func TestPinRefuses(t *testing.T) {
	sum := digest(fakeModule)
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name:  "missing artifact",
			files: map[string]string{"t.yaml": toolYAML("echo", "nope.wasm", sum, "")},
			want:  "no such file or directory",
		},
		{
			name:  "invalid manifest",
			files: map[string]string{"t.yaml": toolYAML("echo", "m.wasm", sum, "limits: {timeout: 5x}\n"), "m.wasm": "x"},
			want:  `t.yaml: limits.timeout: "5x" is not a duration`,
		},
		{
			name:  "a role",
			files: map[string]string{"t.yaml": "apiVersion: toolwarden.dev/v1\nkind: Role\nname: r\ntools: [{name: echo}]\n"},
			want:  `kind: is "Role", want "Tool"`,
		},
		{
			name:  "digest written twice on one line",
			files: map[string]string{"t.yaml": toolYAML("echo", "m.wasm", sum, "") + "# " + sum + "\n", "m.wasm": "other"},
			want:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			path := filepath.Join(dir, "t.yaml")
			before, _ := os.ReadFile(path)
			changed, err := Pin(path)
			after, _ := os.ReadFile(path)
			if tt.want == "" {
				// The digest's own line holds it once: pinning works and
				// leaves the comment alone.
				if err != nil || !changed || !strings.HasSuffix(string(after), "# "+sum+"\n") {
					t.Errorf("Pin = %v, %v; file:\n%s", changed, err, after)
				}
				return
			}
			if err == nil || changed || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Pin = %v, %v; want false and an error containing %q", changed, err, tt.want)
			}
			if string(before) != string(after) {
				t.Error("Pin changed the file although it failed")
			}
		})
	}
}
