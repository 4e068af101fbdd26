package mcpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/sandbox"
)

// secretCause is an internal cause that must never reach a client.
var secretCause = errors.New("open /var/lib/toolwarden/keys/secret.pem: permission denied")

// codeReplies is the reply a tools/call refused with each reason code
// gets, for the codes the broker or a runtime returns. "" means the
// JSON-RPC tool-not-found error; anything else is the isError result
// text. Codes of refusals before the broker (frame.*, protocol.*,
// session.*) are JSON-RPC errors, tested with the transports.
var codeReplies = func() map[string]string {
	m := map[string]string{}
	for _, r := range Reasons {
		switch family(r.Code) {
		case "frame", "protocol", "session":
			continue
		}
		m[r.Code] = r.Code + ": PUBLIC"
	}
	m[broker.CodeUnknownTool] = ""
	m[broker.CodeDeniedRole] = ""
	m[broker.CodeAuditUnavailable] = "audit.unavailable: audit unavailable"
	m[broker.CodeInternal] = "internal: internal error"
	// Any other egress.* code, and codes this package has never heard of,
	// pass through with their public message.
	m["egress.future_code"] = "egress.future_code: PUBLIC"
	m["approval.pending"] = "approval.pending: PUBLIC"
	return m
}()

// reasonShape is the form of every reason code: family.detail.
var reasonShape = regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)

func family(code string) string {
	f, _, _ := strings.Cut(code, ".")
	return f
}

// declaredCodes reads the string values of the Code* constants in a Go
// file whose value is a string literal.
func declaredCodes(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var codes []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: %s: %v", path, name.Name, err)
				}
				codes = append(codes, v)
			}
		}
	}
	return codes
}

// TestEveryCodeIsInTheTable walks the module's Go files: every reason
// code a package declares must be in Reasons, so no refusal gets a code
// that the table, README and the reply tests do not know. The strict JSON
// reader's json.* codes describe a document, not a refusal, and the
// manifest loader's are load errors; both are left out.
func TestEveryCodeIsInTheTable(t *testing.T) {
	inTable := map[string]bool{}
	for _, r := range Reasons {
		if inTable[r.Code] {
			t.Errorf("code %q is in Reasons twice", r.Code)
		}
		if r.Meaning == "" {
			t.Errorf("code %q has no meaning", r.Code)
		}
		inTable[r.Code] = true
	}
	n := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (d.Name() == "testdata" || d.Name() == "build" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, code := range declaredCodes(t, path) {
			if !reasonShape.MatchString(code) {
				continue // a Code-named constant that is no reason code (CodecName)
			}
			n++
			switch family(code) {
			case "json", "manifest":
				continue
			}
			if !inTable[code] {
				t.Errorf("code %q (%s) is not in mcpserver.Reasons: add it, with its meaning", code, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("found only %d Code constants: is the walk looking at the module?", n)
	}
}

func TestReplyFor(t *testing.T) {
	for code, want := range codeReplies {
		for _, wrap := range []struct {
			name string
			err  error
		}{
			{"broker.Error", &broker.Error{Code: code, Public: "PUBLIC", Err: secretCause}},
			{"wrapped", fmt.Errorf("call %q: %w", "x", &broker.Error{Code: code, Public: "PUBLIC", Err: secretCause})},
			{"around sandbox.Error", &broker.Error{Code: code, Public: "PUBLIC", Err: &sandbox.Error{Code: "sandbox.trap", Public: "other", Err: secretCause}}},
		} {
			t.Run(code+"/"+wrap.name, func(t *testing.T) {
				r := replyFor(wrap.err)
				if want == "" {
					if !r.notFound {
						t.Errorf("replyFor(%s) = %+v, want the tool-not-found error", code, r)
					}
					return
				}
				if r.notFound {
					t.Fatalf("replyFor(%s) is tool-not-found, want result %q", code, want)
				}
				res := errorResult(r)
				text := res.Content[0].(mcp.TextContent).Text
				if !res.IsError || text != want {
					t.Errorf("result for %s = isError %v %q, want isError %q", code, res.IsError, text, want)
				}
				var sc map[string]string
				if err := json.Unmarshal(res.RawStructuredContent, &sc); err != nil || sc["code"] != code {
					t.Errorf("structuredContent for %s = %s", code, res.RawStructuredContent)
				}
				if res.Meta.AdditionalFields[MetaKeyReason] != code {
					t.Errorf("_meta reason for %s = %v", code, res.Meta.AdditionalFields[MetaKeyReason])
				}
				out, _ := json.Marshal(res)
				if strings.Contains(string(out), "secret.pem") {
					t.Errorf("internal cause leaked for %s: %s", code, out)
				}
			})
		}
	}
}

func TestReplyForUncodedErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain error", secretCause, "internal: internal error"},
		{"wrapped plain error", fmt.Errorf("run: %w", secretCause), "internal: internal error"},
		{"empty code", &broker.Error{Code: "", Public: "leak?", Err: secretCause}, "internal: internal error"},
		{"bare sandbox.Error", &sandbox.Error{Code: sandbox.CodeTimeout, Public: "timed out", Err: secretCause}, "sandbox.timeout: tool run failed"},
		{"output limit", &sandbox.OutputLimitError{Limit: 1024}, "output.too_large: tool output rejected"},
		{"no public message", &broker.Error{Code: broker.CodeRateLimited}, "limit.rate: limit reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := errorResult(replyFor(tc.err))
			if got := res.Content[0].(mcp.TextContent).Text; got != tc.want {
				t.Errorf("reply = %q, want %q", got, tc.want)
			}
		})
	}
}
