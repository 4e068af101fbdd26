package mcpserver_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/mcpserver"
)

// nobody is an authenticator that accepts no credential.
type nobody struct{}

func (nobody) Authenticate(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, &auth.Error{Code: auth.CodeInvalid, Public: "credential not accepted", Err: errors.New("unknown key")}
}

// noTools is a broker with no tools.
type noTools struct{}

func (noTools) ListTools(context.Context, auth.Principal) []broker.ToolInfo { return nil }
func (noTools) CallTool(context.Context, broker.Call) (*broker.Outcome, error) {
	return nil, &broker.Error{Code: broker.CodeUnknownTool, Public: "unknown tool"}
}
func (noTools) Refuse(context.Context, broker.Refusal) error { return nil }

// A client without a valid credential learns where to get one.
func Example() {
	s, err := mcpserver.New(mcpserver.Config{
		Core:                 noTools{},
		Auth:                 nobody{},
		ResourceURL:          "https://broker.example.com/mcp",
		AuthorizationServers: []string{"https://id.example.com"},
		Logger:               slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/mcp", nil)
	req.Header.Set("Authorization", "Bearer stolen")
	s.Handler().ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 401 Bearer resource_metadata="https://broker.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="credential not accepted"
	// 200 {"resource":"https://broker.example.com/mcp","authorization_servers":["https://id.example.com"],"bearer_methods_supported":["header"]}
}
