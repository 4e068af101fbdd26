package mcpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// secretCause is an internal cause that must never reach a client.
var secretCause = errors.New("open /var/lib/toolwarden/keys/secret.pem: permission denied")

// codeReplies is the reply every reason code gets. "" means the JSON-RPC
// tool-not-found error; anything else is the isError result text.
var codeReplies = map[string]string{
	broker.CodeUnknownTool:      "",
	broker.CodeDeniedRole:       "",
	broker.CodeDeniedArgs:       "denied.arguments: PUBLIC",
	broker.CodeInvalidArgs:      "invalid.arguments: PUBLIC",
	broker.CodeArgsTooLarge:     "invalid.arguments_size: PUBLIC",
	broker.CodeRateLimited:      "limit.rate: PUBLIC",
	broker.CodeConcurrency:      "limit.concurrency: PUBLIC",
	broker.CodeKillSwitch:       "denied.kill_switch: PUBLIC",
	broker.CodeApprovalRequired: "denied.approval: PUBLIC",
	broker.CodeAuditUnavailable: "audit.unavailable: audit unavailable",
	broker.CodeUnauthenticated:  "auth.invalid: PUBLIC",
	broker.CodeInternal:         "internal: internal error",
	broker.CodeOutputSchema:     "output.invalid: PUBLIC",

	sandbox.CodeTimeout:        "sandbox.timeout: PUBLIC",
	sandbox.CodeMemory:         "sandbox.memory: PUBLIC",
	sandbox.CodeTrap:           "sandbox.trap: PUBLIC",
	sandbox.CodeExit:           "sandbox.exit: PUBLIC",
	sandbox.CodeBadOutput:      "sandbox.bad_output: PUBLIC",
	sandbox.CodeOutputTooLarge: "output.too_large: PUBLIC",
	sandbox.CodeToolError:      "tool.error: PUBLIC",
	sandbox.CodeDigestMismatch: "sandbox.digest_mismatch: PUBLIC",
	sandbox.CodeLoad:           "sandbox.load: PUBLIC",
	sandbox.CodeClosed:         "sandbox.closed: PUBLIC",
	sandbox.CodeEgressDenied:   "sandbox.egress_denied: PUBLIC",
	sandbox.CodeCrashed:        "sandbox.crashed: PUBLIC",

	egress.CodeDeniedHost:       "egress.denied_host: PUBLIC",
	egress.CodeDeniedAddress:    "egress.denied_address: PUBLIC",
	egress.CodeDeniedScheme:     "egress.denied_scheme: PUBLIC",
	egress.CodeDeniedPort:       "egress.denied_port: PUBLIC",
	egress.CodeUserinfo:         "egress.userinfo: PUBLIC",
	egress.CodeInvalidRequest:   "egress.invalid_request: PUBLIC",
	egress.CodeTooManyRequests:  "egress.too_many_requests: PUBLIC",
	egress.CodeRequestTooLarge:  "egress.request_too_large: PUBLIC",
	egress.CodeResponseTooLarge: "egress.response_too_large: PUBLIC",
	egress.CodeRedirects:        "egress.redirects: PUBLIC",
	egress.CodeTimeout:          "egress.timeout: PUBLIC",
	egress.CodeDNS:              "egress.dns: PUBLIC",
	egress.CodeConnect:          "egress.connect: PUBLIC",

	// Any other egress.* code, and codes this package has never heard of,
	// pass through with their public message.
	"egress.future_code": "egress.future_code: PUBLIC",
	"approval.pending":   "approval.pending: PUBLIC",
}

// declaredCodes reads the string values of the Code* constants in a Go file.
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

func TestEveryCodeHasAReply(t *testing.T) {
	for _, path := range []string{"../errors.go", "../../sandbox/sandbox.go", "../../sandbox/egress/errors.go"} {
		codes := declaredCodes(t, path)
		if len(codes) == 0 {
			t.Fatalf("no Code constants found in %s", path)
		}
		for _, code := range codes {
			if _, ok := codeReplies[code]; !ok {
				t.Errorf("code %q (%s) has no row in codeReplies: decide its MCP reply", code, path)
			}
		}
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
