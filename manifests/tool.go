package manifests

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// The patterns names and versions must match, compiled on first use: the
// counted repetitions make them costly to compile, and compiling them at
// package init would cost every process that links this package (the
// plugin launcher among them) at start.
var (
	toolNameRE = lazyRegexp(`^[a-z][a-z0-9_]{0,63}$`)
	roleNameRE = lazyRegexp(`^[a-z][a-z0-9_-]{0,63}$`)
	// semverRE is semantic versioning 2.0.0's own expression.
	semverRE  = lazyRegexp(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	sha256RE  = lazyRegexp(`^[0-9a-f]{64}$`)
	envNameRE = lazyRegexp(`^[A-Z_][A-Z0-9_]{0,127}$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Risk levels.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Runtime kinds, as [Tool.RuntimeKind] returns them.
const (
	RuntimeWasm   = "wasm"
	RuntimePlugin = "plugin"
)

// ParseTool parses and checks one tool manifest, YAML or JSON. file names
// the manifest in problems and anchors the artifact path ("" means the
// current directory); ParseTool does not read the artifact ([LoadDir]
// does).
//
// Decoding is strict: an unknown field, a duplicate key, a key that differs
// from a field name only in case ("Name"), a missing required field, a
// value of the wrong type, more than one YAML document, YAML anchors,
// aliases, tags or merge keys, and a file over [MaxFileBytes] are all
// errors. Then every field is checked (name, semantic version, runtime
// with exactly one of wasm or plugin and a lower-case hex SHA-256, input
// schema as [CompileSchema] requires, egress patterns, secret names,
// mount paths (absolute, clean, each once), limits, risk, cost, hidden
// characters in descriptions).
//
// The error is a [*LoadError] listing every problem found, each naming
// the file and the field, e.g.
// `tools/echo.yaml: limits.timeout: "5x" is not a duration`.
func ParseTool(data []byte, file string) (*Tool, error) {
	ps := &problems{file: file}
	var t *Tool
	if d, ok := readDocument(data, ps); ok {
		t = toolFromDocument(d, ps)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkHeader checks apiVersion and kind; false means the document is not
// of the wanted kind and decoding it further would only add noise.
func checkHeader(d *document, want string, ps *problems) bool {
	switch v, ok := d.tree["apiVersion"]; {
	case !ok:
		ps.add("apiVersion", fmt.Sprintf("required (%q)", APIVersion))
	case v != APIVersion:
		ps.add("apiVersion", fmt.Sprintf("%s is not supported (want %q)", quoteValue(v), APIVersion))
	}
	switch v, ok := d.tree["kind"]; {
	case !ok:
		ps.add("kind", fmt.Sprintf("required (%q)", want))
		return false
	case v != want:
		ps.add("kind", fmt.Sprintf("is %s, want %q", quoteValue(v), want))
		return false
	}
	return true
}

func toolFromDocument(d *document, ps *problems) *Tool {
	before := len(ps.list)
	if !checkHeader(d, KindTool, ps) {
		return nil
	}
	var t Tool
	if !decodeInto(d, &t, ps) {
		return nil
	}
	t.File = ps.file
	for _, f := range []string{"name", "version", "description", "runtime", "inputSchema"} {
		if !d.has(f) {
			ps.add(f, "required")
		}
	}
	if d.has("name") && !toolNameRE().MatchString(t.Name) {
		ps.add("name", fmt.Sprintf("%q is not a tool name (a lower-case letter, then up to 63 lower-case letters, digits or underscores)", clip(t.Name)))
	}
	if d.has("version") && !semverRE().MatchString(t.Version) {
		ps.add("version", fmt.Sprintf("%q is not a semantic version such as 1.0.0", clip(t.Version)))
	}
	if d.has("description") {
		checkText("description", t.Description, true, ps)
	}
	if d.has("runtime") {
		checkRuntime(&t, d, ps)
	}
	if d.has("inputSchema") {
		s, sps := compileSchema(t.InputSchema, modeTool, "inputSchema")
		for _, p := range sps {
			ps.add(p.Field, p.Why)
		}
		t.schema = s
	}
	checkEgressList("requires.egress", t.Requires.Egress, ps)
	if len(t.Requires.Egress) == 0 {
		t.Requires.Egress = nil
	}
	seen := map[string]bool{}
	for i, s := range t.Requires.Secrets {
		field := fmt.Sprintf("requires.secrets[%d]", i)
		switch {
		case !envNameRE().MatchString(s):
			ps.add(field, fmt.Sprintf("%q is not an environment variable name (upper-case letters, digits and underscores, not starting with a digit)", clip(s)))
		case seen[s]:
			ps.add(field, fmt.Sprintf("%q is listed twice", s))
		}
		seen[s] = true
	}
	if len(t.Requires.Secrets) == 0 {
		t.Requires.Secrets = nil
	}
	seen = map[string]bool{}
	for i, g := range t.Requires.Mounts {
		field := fmt.Sprintf("requires.mounts[%d]", i)
		if why := checkGuestPath(g); why != "" {
			ps.add(field, why)
		} else if seen[g] {
			ps.add(field, fmt.Sprintf("%q is listed twice", g))
		}
		seen[g] = true
	}
	if len(t.Requires.Mounts) == 0 {
		t.Requires.Mounts = nil
	}
	switch t.Risk {
	case "", RiskLow, RiskMedium, RiskHigh:
		if d.has("risk") && t.Risk == "" {
			ps.add("risk", `must be "low", "medium" or "high"`)
		}
	default:
		ps.add("risk", fmt.Sprintf("%q is not a risk level (want low, medium or high)", clip(t.Risk)))
	}
	if d.has("cost") && t.Cost < 1 {
		ps.add("cost", fmt.Sprintf("%d is less than 1 (leave cost out for the default of 1)", t.Cost))
	}
	if len(ps.list) > before {
		return nil
	}
	return &t
}

// checkRuntime checks that exactly one runtime is set and resolves the
// artifact's path.
func checkRuntime(t *Tool, d *document, ps *problems) {
	r := t.Runtime
	var field, key, rel, sum string
	switch {
	case r.Wasm != nil && r.Plugin != nil:
		ps.add("runtime", "sets both wasm and plugin; set exactly one")
		return
	case r.Wasm != nil:
		field, key, rel, sum = "runtime.wasm", "module", r.Wasm.Module, r.Wasm.SHA256
	case r.Plugin != nil:
		field, key, rel, sum = "runtime.plugin", "command", r.Plugin.Command, r.Plugin.SHA256
	default:
		ps.add("runtime", "must set exactly one of wasm or plugin")
		return
	}
	kind := strings.TrimPrefix(field, "runtime.")
	switch {
	case !d.has("runtime", kind, key):
		ps.add(field+"."+key, "required: the artifact's path, relative to the manifest's directory")
	case rel == "":
		ps.add(field+"."+key, "must not be empty")
	case filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`):
		ps.add(field+"."+key, fmt.Sprintf("%q is absolute; write it relative to the manifest's directory", clip(rel)))
	case strings.ContainsRune(rel, 0):
		ps.add(field+"."+key, "contains a NUL byte")
	default:
		base := "."
		if t.File != "" {
			base = filepath.Dir(t.File)
		}
		abs, err := filepath.Abs(filepath.Join(base, filepath.FromSlash(rel)))
		if err != nil {
			ps.add(field+"."+key, "cannot resolve: "+err.Error())
		}
		t.artifact = abs
	}
	switch {
	case !d.has("runtime", kind, "sha256"):
		ps.add(field+".sha256", "required: the lower-case hex SHA-256 of the artifact (toolwarden manifest pin writes it)")
	case !sha256RE().MatchString(sum):
		ps.add(field+".sha256", fmt.Sprintf("%q is not a SHA-256 digest (64 lower-case hex digits)", clip(sum)))
	}
}

// checkEgressList checks egress entries.
func checkEgressList(field string, list []string, ps *problems) {
	seen := map[string]bool{}
	for i, e := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, err := parseEgress(e); err != nil {
			ps.add(f, fmt.Sprintf("%q %v", clip(e), err))
			continue
		}
		if seen[e] {
			ps.add(f, fmt.Sprintf("%q is listed twice", clip(e)))
		}
		seen[e] = true
	}
}

// maxMountPathBytes bounds a mount path, host or guest.
const maxMountPathBytes = 1024

// checkGuestPath returns why g is not a mount path inside the sandbox, or
// "".
func checkGuestPath(g string) string {
	switch {
	case g == "":
		return "must not be empty"
	case len(g) > maxMountPathBytes:
		return fmt.Sprintf("is longer than %d bytes", maxMountPathBytes)
	case strings.ContainsRune(g, 0) || hiddenChar(g) != "" || strings.ContainsRune(g, '\\'):
		return fmt.Sprintf("%q has a character a sandbox path cannot have", clip(g))
	case !strings.HasPrefix(g, "/") || path.Clean(g) != g:
		return fmt.Sprintf("%q is not an absolute, clean path such as /data", clip(g))
	}
	return ""
}

// checkText refuses hidden characters in text shown to people or models.
func checkText(field, s string, required bool, ps *problems) {
	if required && strings.TrimSpace(s) == "" {
		ps.add(field, "must not be empty")
		return
	}
	if h := hiddenChar(s); h != "" {
		ps.add(field, "has a "+h)
	}
}

// ArtifactPath returns the absolute path of the tool's wasm module or
// plugin command ("" for a Tool not made by [ParseTool] or [LoadDir]).
func (t *Tool) ArtifactPath() string { return t.artifact }

// ArtifactSHA256 returns the pinned lower-case hex SHA-256 of the tool's
// artifact.
func (t *Tool) ArtifactSHA256() string {
	switch {
	case t.Runtime.Wasm != nil:
		return t.Runtime.Wasm.SHA256
	case t.Runtime.Plugin != nil:
		return t.Runtime.Plugin.SHA256
	}
	return ""
}

// RuntimeKind returns [RuntimeWasm] or [RuntimePlugin] ("" if neither is
// set).
func (t *Tool) RuntimeKind() string {
	switch {
	case t.Runtime.Wasm != nil:
		return RuntimeWasm
	case t.Runtime.Plugin != nil:
		return RuntimePlugin
	}
	return ""
}

// EffectiveRisk returns the tool's risk level, [RiskLow] when absent.
func (t *Tool) EffectiveRisk() string {
	if t.Risk == "" {
		return RiskLow
	}
	return t.Risk
}

// EffectiveCost returns the tool's cost in budget units, 1 when absent.
func (t *Tool) EffectiveCost() int {
	if t.Cost < 1 {
		return 1
	}
	return t.Cost
}
