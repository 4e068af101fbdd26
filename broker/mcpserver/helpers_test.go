package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
)

// Principals of the fake authenticator, by bearer token.
var (
	alice = auth.Principal{Tenant: "acme", Subject: "alice", Roles: []string{"admin"}, Method: "apikey", KeyID: "key-alice"}
	bob   = auth.Principal{Tenant: "acme", Subject: "bob", Roles: []string{"analyst"}, Method: "apikey", KeyID: "key-bob"}
	// aliceOtherKey is alice with another credential.
	aliceOtherKey = auth.Principal{Tenant: "acme", Subject: "alice", Roles: []string{"admin"}, Method: "apikey", KeyID: "key-alice-2"}
)

const (
	tokenAlice    = "tw_alice"
	tokenBob      = "tw_bob"
	tokenAlice2   = "tw_alice2"
	tokenExpired  = "tw_expired"
	tokenAudience = "tw_audience"
	tokenDown     = "tw_down"
)

// fakeAuth resolves the tokens above; anything else is auth.invalid.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, bearer string) (auth.Principal, error) {
	switch bearer {
	case tokenAlice:
		return alice, nil
	case tokenBob:
		return bob, nil
	case tokenAlice2:
		return aliceOtherKey, nil
	case tokenExpired:
		return auth.Principal{}, &auth.Error{Code: auth.CodeExpired, Public: "credential expired or not yet valid", Err: io.ErrUnexpectedEOF}
	case tokenAudience:
		return auth.Principal{}, &auth.Error{Code: auth.CodeAudience, Public: "token not issued for this service"}
	case tokenDown:
		return auth.Principal{}, &auth.Error{Code: auth.CodeUnavailable, Public: "authentication is unavailable, try again later"}
	}
	return auth.Principal{}, &auth.Error{Code: auth.CodeInvalid, Public: "credential not accepted", Err: io.EOF}
}

// schemaWithDefs is a tool schema whose $schema and $defs must reach the
// client unchanged.
const schemaWithDefs = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"msg":{"type":"string","maxLength":64}},"properties":{"message":{"$ref":"#/$defs/msg"}},"required":["message"],"additionalProperties":false}`

// refusal is one Refuse call.
type refusal = broker.Refusal

// fakeCore is a broker: echo, fail and secret exist; alice may call all
// three, bob only echo and fail. echo returns its arguments; fail returns
// failErr.
type fakeCore struct {
	failErr error

	mu       sync.Mutex // guards following
	calls    []broker.Call
	refusals []refusal
}

var fakeTools = map[string]broker.ToolInfo{
	"echo":   {Name: "echo", Description: "Echo the message back.", InputSchema: json.RawMessage(schemaWithDefs), Risk: "low"},
	"fail":   {Name: "fail", Description: "Always fails.", InputSchema: json.RawMessage(`{"type":"object"}`)},
	"secret": {Name: "secret", Description: "Admins only.", InputSchema: json.RawMessage(`{"type":"object"}`), Risk: "high"},
}

var fakeGrants = map[string][]string{
	"alice": {"echo", "fail", "secret"},
	"bob":   {"echo", "fail"},
}

func (c *fakeCore) ListTools(_ context.Context, p auth.Principal) []broker.ToolInfo {
	var out []broker.ToolInfo
	for _, name := range fakeGrants[p.Subject] {
		out = append(out, fakeTools[name])
	}
	return out
}

func (c *fakeCore) CallTool(_ context.Context, call broker.Call) (*broker.Outcome, error) {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
	if _, ok := fakeTools[call.Tool]; !ok {
		return nil, &broker.Error{Code: broker.CodeUnknownTool, Public: "unknown tool"}
	}
	if !slices.Contains(fakeGrants[call.Principal.Subject], call.Tool) {
		return nil, &broker.Error{Code: broker.CodeDeniedRole, Public: "denied"}
	}
	if call.Tool == "fail" {
		return nil, c.failErr
	}
	args := call.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	return &broker.Outcome{Result: json.RawMessage(`{"echo":` + string(args) + `}`), Seq: 7}, nil
}

func (c *fakeCore) Refuse(_ context.Context, r broker.Refusal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refusals = append(c.refusals, r)
	return nil
}

func (c *fakeCore) lastCall(t *testing.T) broker.Call {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.calls) == 0 {
		t.Fatal("broker saw no call")
	}
	return c.calls[len(c.calls)-1]
}

func (c *fakeCore) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

func (c *fakeCore) refusalList() []refusal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.refusals)
}

// quietLogger drops everything.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newTestServer starts a Server over httptest with a fake core.
func newTestServer(t testing.TB, mod func(*Config)) (*Server, *fakeCore, *httptest.Server) {
	t.Helper()
	core := &fakeCore{failErr: &broker.Error{Code: broker.CodeInvalidArgs, Public: "message is required", Err: io.ErrClosedPipe}}
	cfg := Config{
		Core:                 core,
		Auth:                 fakeAuth{},
		ResourceURL:          "https://broker.example.com/mcp",
		AuthorizationServers: []string{"https://id.example.com"},
		AllowedOrigins:       []string{"https://app.example.com"},
		Logger:               quietLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, core, ts
}

// newClient connects mcp-go's Streamable HTTP client as the holder of
// token. version "" lets the client pick (2026-07-28, stateless); an older
// version pins the initialize handshake and a session.
func newClient(t testing.TB, url, token, version string) *client.Client {
	t.Helper()
	trans, err := transport.NewStreamableHTTP(url+EndpointPath,
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatalf("NewStreamableHTTP: %v", err)
	}
	var opts []client.ClientOption
	if version != "" {
		opts = append(opts, client.WithProtocolVersion(version))
	}
	c := client.NewClient(trans, opts...)
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("client Start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "test-client", Version: "1.2.3"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("client Initialize (%q): %v", version, err)
	}
	return c
}

// callRequest builds a tools/call with a declared model.
func callRequest(name string, args map[string]any) mcp.CallToolRequest {
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"toolwarden.dev/model": "test-model-1"}}
	return req
}

// modernBody is a stateless (2026-07-28) request for raw posts.
func modernBody(id any, method string, params map[string]any) []byte {
	if params == nil {
		params = map[string]any{}
	}
	params["_meta"] = map[string]any{
		mcp.MetaKeyProtocolVersion:    mcp.ProtocolVersion20260728,
		mcp.MetaKeyClientCapabilities: map[string]any{},
		mcp.MetaKeyClientInfo:         map[string]any{"name": "raw", "version": "0.1"},
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return body
}

// rawPost sends body to /mcp with the modern protocol headers; hdr adds or
// overrides headers (an empty value deletes one).
func rawPost(t testing.TB, url string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+EndpointPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tokenAlice)
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp, out
}

// rpcError is the error member of a JSON-RPC reply.
type rpcReply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeReply(t testing.TB, data []byte) rpcReply {
	t.Helper()
	var r rpcReply
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("reply %q is not JSON: %v", data, err)
	}
	return r
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}
