package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/toolwarden/toolwarden/broker"
)

// versions are the protocol versions a client may speak: "" lets mcp-go's
// client choose, which is the stateless 2026-07-28.
var versions = []string{"", mcp.ProtocolVersion20251125, mcp.ProtocolVersion20250618}

func versionName(v string) string {
	if v == "" {
		return "stateless"
	}
	return v
}

func toolNames(tools []mcp.Tool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	return names
}

func TestHTTPListToolsPerPrincipal(t *testing.T) {
	_, _, ts := newTestServer(t, nil)
	for _, v := range versions {
		for _, tc := range []struct {
			token string
			want  []string
		}{
			{tokenAlice, []string{"echo", "fail", "secret"}},
			{tokenBob, []string{"echo", "fail"}},
		} {
			t.Run(versionName(v)+"/"+tc.token, func(t *testing.T) {
				c := newClient(t, ts.URL, tc.token, v)
				res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
				if err != nil {
					t.Fatalf("ListTools: %v", err)
				}
				if got := toolNames(res.Tools); !slices.Equal(got, tc.want) {
					t.Errorf("ListTools names = %v, want %v", got, tc.want)
				}
			})
		}
	}
}

func TestHTTPListToolsSchemaByteForByte(t *testing.T) {
	_, _, ts := newTestServer(t, nil)
	resp, body := rawPost(t, ts.URL, modernBody(1, "tools/list", nil), map[string]string{mcp.HeaderMethod: "tools/list"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/list status = %d, body %s", resp.StatusCode, body)
	}
	var result struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
			Meta        map[string]any  `json:"_meta"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(decodeReply(t, body).Result, &result); err != nil {
		t.Fatalf("decode tools/list result: %v", err)
	}
	for _, tool := range result.Tools {
		if tool.Name != "echo" {
			continue
		}
		if got := string(tool.InputSchema); got != schemaWithDefs {
			t.Errorf("echo inputSchema = %s\nwant %s", got, schemaWithDefs)
		}
		if got := tool.Meta["toolwarden.dev/risk"]; got != "low" {
			t.Errorf("echo _meta risk = %v, want low", got)
		}
		return
	}
	t.Fatalf("echo missing from tools/list: %s", body)
}

func TestHTTPCallTool(t *testing.T) {
	_, core, ts := newTestServer(t, nil)
	for _, v := range versions {
		t.Run(versionName(v), func(t *testing.T) {
			c := newClient(t, ts.URL, tokenAlice, v)
			res, err := c.CallTool(context.Background(), callRequest("echo", map[string]any{"message": "hi"}))
			if err != nil {
				t.Fatalf("CallTool(echo): %v", err)
			}
			if res.IsError {
				t.Fatalf("CallTool(echo) isError, content %v", res.Content)
			}
			text := res.Content[0].(mcp.TextContent).Text
			if want := `{"echo":{"message":"hi"}}`; !jsonEqual(t, []byte(text), []byte(want)) {
				t.Errorf("CallTool(echo) text = %s, want %s", text, want)
			}
			if !jsonEqual(t, res.RawStructuredContent, []byte(text)) {
				t.Errorf("structuredContent = %s, want %s", res.RawStructuredContent, text)
			}
			if got := res.Meta.AdditionalFields[MetaKeySeq]; got != float64(7) {
				t.Errorf("_meta %s = %v, want 7", MetaKeySeq, got)
			}

			call := core.lastCall(t)
			if call.Principal.Subject != "alice" || call.Principal.KeyID != "key-alice" {
				t.Errorf("broker principal = %+v, want alice", call.Principal)
			}
			if call.Tool != "echo" || !jsonEqual(t, call.Args, []byte(`{"message":"hi"}`)) {
				t.Errorf("broker call = %s %s, want echo {\"message\":\"hi\"}", call.Tool, call.Args)
			}
			wantProto := v
			wantSession := c.GetSessionId()
			if v == "" {
				wantProto = mcp.ProtocolVersion20260728
				if wantSession != "" {
					t.Errorf("stateless client got session id %q", wantSession)
				}
			} else if wantSession == "" {
				t.Errorf("%s client got no session id", v)
			}
			m := call.Meta
			switch {
			case m.Transport != TransportHTTP:
				t.Errorf("Meta.Transport = %q, want http", m.Transport)
			case m.Session != wantSession:
				t.Errorf("Meta.Session = %q, want %q", m.Session, wantSession)
			case m.RequestID == "":
				t.Errorf("Meta.RequestID is empty")
			case !strings.HasPrefix(m.RemoteAddr, "127.0.0.1:"):
				t.Errorf("Meta.RemoteAddr = %q", m.RemoteAddr)
			case m.UserAgent == "":
				t.Errorf("Meta.UserAgent is empty")
			case m.Protocol != wantProto:
				t.Errorf("Meta.Protocol = %q, want %q", m.Protocol, wantProto)
			case m.ClientName != "test-client" || m.ClientVersion != "1.2.3":
				t.Errorf("Meta client = %q %q, want test-client 1.2.3", m.ClientName, m.ClientVersion)
			case m.Model != "test-model-1":
				t.Errorf("Meta.Model = %q, want test-model-1", m.Model)
			}
		})
	}
}

func TestHTTPUnknownAndDeniedToolsLookAlike(t *testing.T) {
	_, core, ts := newTestServer(t, nil)
	for _, v := range versions {
		t.Run(versionName(v), func(t *testing.T) {
			c := newClient(t, ts.URL, tokenBob, v)
			before := core.callCount()
			errText := func(name string) string {
				res, err := c.CallTool(context.Background(), callRequest(name, map[string]any{}))
				if err == nil {
					t.Fatalf("CallTool(%q) = %+v, want an error", name, res)
				}
				return strings.ReplaceAll(err.Error(), name, "NAME")
			}
			denied := errText("secret")
			unknown := errText("no_such_tool")
			spaced := errText(" toolwarden dispatch") // the sentinel name of an earlier design
			if denied != unknown || spaced != unknown {
				t.Errorf("replies differ:\ndenied:     %s\nunknown:    %s\nspaced:     %s", denied, unknown, spaced)
			}
			if !strings.Contains(unknown, "not found") {
				t.Errorf("unknown tool error = %q, want a not-found error", unknown)
			}
			if got := core.callCount() - before; got != 3 {
				t.Errorf("broker saw %d calls, want 3 (refusals are the broker's to audit)", got)
			}
		})
	}

	// On the wire: the same JSON-RPC code and message shape.
	var codes []int
	for _, name := range []string{"secret", "no_such_tool"} {
		resp, body := rawPost(t, ts.URL, modernBody(5, "tools/call", map[string]any{"name": name, "arguments": map[string]any{}}),
			map[string]string{"Authorization": "Bearer " + tokenBob, mcp.HeaderMethod: "tools/call", mcp.HeaderName: name})
		r := decodeReply(t, body)
		if r.Error == nil {
			t.Fatalf("tools/call %s: status %d body %s, want a JSON-RPC error", name, resp.StatusCode, body)
		}
		codes = append(codes, r.Error.Code)
	}
	if codes[0] != codes[1] || codes[0] != int(mcp.INVALID_PARAMS) {
		t.Errorf("JSON-RPC codes = %v, want both %d", codes, mcp.INVALID_PARAMS)
	}
}

func TestHTTPCallToolErrorResult(t *testing.T) {
	_, _, ts := newTestServer(t, nil)
	c := newClient(t, ts.URL, tokenAlice, "")
	res, err := c.CallTool(context.Background(), callRequest("fail", map[string]any{}))
	if err != nil {
		t.Fatalf("CallTool(fail): %v", err)
	}
	if !res.IsError {
		t.Fatalf("CallTool(fail) isError = false")
	}
	text := res.Content[0].(mcp.TextContent).Text
	if want := "invalid.arguments: message is required"; text != want {
		t.Errorf("CallTool(fail) text = %q, want %q", text, want)
	}
	if strings.Contains(text, io.ErrClosedPipe.Error()) || strings.Contains(string(res.RawStructuredContent), io.ErrClosedPipe.Error()) {
		t.Errorf("internal cause leaked: %q %s", text, res.RawStructuredContent)
	}
	if !jsonEqual(t, res.RawStructuredContent, []byte(`{"code":"invalid.arguments","message":"message is required"}`)) {
		t.Errorf("structuredContent = %s", res.RawStructuredContent)
	}
	if got := res.Meta.AdditionalFields[MetaKeyReason]; got != broker.CodeInvalidArgs {
		t.Errorf("_meta %s = %v, want %s", MetaKeyReason, got, broker.CodeInvalidArgs)
	}
}

func TestHTTPRefusals(t *testing.T) {
	_, core, ts := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 64 << 10 })
	port := ts.URL[strings.LastIndex(ts.URL, ":")+1:]
	list := modernBody(1, "tools/list", nil)
	listHdr := map[string]string{mcp.HeaderMethod: "tools/list"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{mcp.HeaderMethod: "tools/list"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name       string
		body       []byte
		hdr        map[string]string
		wantStatus int
		wantCode   int    // JSON-RPC error code, 0 for none checked
		wantID     string // raw id echoed, "" for not checked
		wantText   string // substring of the error message or body
	}{
		{name: "valid", body: list, hdr: listHdr, wantStatus: 200},
		{name: "oversize body", body: bytes.Repeat([]byte(" "), 100<<10), hdr: listHdr, wantStatus: 413, wantCode: codeInvalidRequest, wantText: "limit of 65536 bytes"},
		{name: "batch", body: []byte(`[` + string(list) + `]`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "null", wantText: "batch requests are not supported"},
		{name: "duplicate key", body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "null"},
		{name: "Method case variant", body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "null"},
		{name: "lone Method", body: []byte(`{"jsonrpc":"2.0","id":2,"Method":"tools/list"}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "2", wantText: `member "Method" differs from "method" only in case`},
		{name: "params Name variant", body: []byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"Name":"secret","name":"echo"}}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest},
		{name: "params lone Name", body: []byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"Name":"secret"}}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "3", wantText: `differs from "name" only in case`},
		{name: "id null", body: []byte(`{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"echo"}}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "null", wantText: "must not be null"},
		{name: "call without id", body: []byte(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantText: "needs an \"id\""},
		{name: "no jsonrpc", body: []byte(`{"id":4,"method":"tools/list"}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "4", wantText: `"jsonrpc" must be "2.0"`},
		{name: "unknown member", body: []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/list","extra":1}`), hdr: listHdr, wantStatus: 400, wantCode: codeInvalidRequest, wantID: "5"},
		{name: "not JSON", body: []byte(`{"jsonrpc":`), hdr: listHdr, wantStatus: 400, wantCode: codeParseError},
		{name: "foreign Origin", body: list, hdr: with(map[string]string{"Origin": "https://evil.example.com"}), wantStatus: 403},
		{name: "null Origin", body: list, hdr: with(map[string]string{"Origin": "null"}), wantStatus: 403},
		{name: "allowed Origin", body: list, hdr: with(map[string]string{"Origin": "https://APP.example.com"}), wantStatus: 200},
		{name: "rebinding Host", body: list, hdr: with(map[string]string{"Host": "evil.example.com:" + port}), wantStatus: 403},
		{name: "localhost Host", body: list, hdr: with(map[string]string{"Host": "localhost:" + port}), wantStatus: 200},
		{name: "loopback Host wrong port", body: list, hdr: with(map[string]string{"Host": "127.0.0.1:1"}), wantStatus: 403},
		{name: "bad token", body: list, hdr: with(map[string]string{"Authorization": "Bearer nope"}), wantStatus: 401, wantCode: codeUnauthorized, wantID: "1"},
		{name: "auth unavailable", body: list, hdr: with(map[string]string{"Authorization": "Bearer " + tokenDown}), wantStatus: 503},
		{name: "basic auth", body: list, hdr: with(map[string]string{"Authorization": "Basic YTpi"}), wantStatus: 401},
		{name: "PUT", body: list, hdr: with(map[string]string{"X-Method": "PUT"}), wantStatus: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := core.callCount()
			var resp *http.Response
			var body []byte
			if tc.hdr["X-Method"] == "PUT" {
				req, _ := http.NewRequest(http.MethodPut, ts.URL+EndpointPath, bytes.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+tokenAlice)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp = r
				body, _ = io.ReadAll(r.Body)
				r.Body.Close()
			} else {
				resp, body = rawPost(t, ts.URL, tc.body, tc.hdr)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus != 200 && core.callCount() != before {
				t.Errorf("a refused request reached the broker")
			}
			if tc.wantCode != 0 {
				r := decodeReply(t, body)
				if r.Error == nil || r.Error.Code != tc.wantCode {
					t.Fatalf("reply = %s, want JSON-RPC error %d", body, tc.wantCode)
				}
				if tc.wantID != "" && string(r.ID) != tc.wantID {
					t.Errorf("reply id = %s, want %s", r.ID, tc.wantID)
				}
			}
			if tc.wantText != "" {
				text := string(body)
				if r := decodeReply(t, body); r.Error != nil {
					text = r.Error.Message
				}
				if !strings.Contains(text, tc.wantText) {
					t.Errorf("reply %s does not contain %q", body, tc.wantText)
				}
			}
		})
	}
}

func TestHTTPOversizeChunkedBody(t *testing.T) {
	_, _, ts := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	body := io.MultiReader(bytes.NewReader(modernBody(1, "tools/list", nil)), bytes.NewReader(bytes.Repeat([]byte(" "), 4096)))
	req, err := http.NewRequest(http.MethodPost, ts.URL+EndpointPath, io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokenAlice)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413; body %s", resp.StatusCode, data)
	}
	if r := decodeReply(t, data); r.Error == nil || !strings.Contains(r.Error.Message, "limit of 1024 bytes") {
		t.Errorf("413 body = %s, want a JSON-RPC error naming the limit", data)
	}
	// Still serving.
	if resp, body := rawPost(t, ts.URL, modernBody(2, "tools/list", nil), map[string]string{mcp.HeaderMethod: "tools/list"}); resp.StatusCode != 200 {
		t.Fatalf("after 413: status %d body %s", resp.StatusCode, body)
	}
}

func TestHTTPUnauthenticated(t *testing.T) {
	_, core, ts := newTestServer(t, nil)
	const metadata = `resource_metadata="https://broker.example.com/.well-known/oauth-protected-resource/mcp"`
	call := modernBody(9, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "x"}})
	callHdr := map[string]string{mcp.HeaderMethod: "tools/call", mcp.HeaderName: "echo"}
	tests := []struct {
		name          string
		token         string // "" sends no Authorization header
		body          []byte
		hdr           map[string]string
		wantChallenge string
		wantRefusal   string // code recorded through Refuse
	}{
		{"missing token, list", "", modernBody(1, "tools/list", nil), map[string]string{mcp.HeaderMethod: "tools/list"}, "Bearer " + metadata, "auth.missing"},
		{"missing token, call", "", call, callHdr, "Bearer " + metadata, "auth.missing"},
		{"invalid token, call", "bogus", call, callHdr, "Bearer " + metadata + `, error="invalid_token", error_description="credential not accepted"`, "auth.invalid"},
		{"expired token, call", tokenExpired, call, callHdr, "Bearer " + metadata + `, error="invalid_token", error_description="credential expired or not yet valid"`, "auth.expired"},
		{"wrong audience, list", tokenAudience, modernBody(1, "tools/list", nil), map[string]string{mcp.HeaderMethod: "tools/list"}, "Bearer " + metadata + `, error="invalid_token", error_description="token not issued for this service"`, "auth.audience"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": ""}
			if tc.token != "" {
				hdr["Authorization"] = "Bearer " + tc.token
			}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			before := len(core.refusalList())
			calls := core.callCount()
			resp, body := rawPost(t, ts.URL, tc.body, hdr)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401; body %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %s\nwant %s", got, tc.wantChallenge)
			}
			if core.callCount() != calls {
				t.Errorf("an unauthenticated call reached CallTool")
			}
			refusals := core.refusalList()[before:]
			if len(refusals) != 1 {
				t.Fatalf("Refuse called %d times, want 1: every refused request is recorded", len(refusals))
			}
			r := refusals[0]
			if r.Code != tc.wantRefusal || !bytes.Equal(r.Payload, tc.body) {
				t.Errorf("refusal = %s, payload %s; want %s with the body", r.Code, r.Payload, tc.wantRefusal)
			}
			if r.Principal.Subject != "" || r.Meta.Transport != TransportHTTP || r.Meta.ClientName != "raw" {
				t.Errorf("refusal = %+v", r)
			}
			if bytes.Equal(tc.body, call) && (r.Method != "tools/call" || r.Tool != "echo" || r.Meta.RequestID != "9") {
				t.Errorf("refused call recorded as %s %s id %s, want tools/call echo id 9", r.Method, r.Tool, r.Meta.RequestID)
			}
		})
	}
}

// legacyPost sends a 2025-11-25 message with a session id as the holder of
// token.
func legacyPost(t testing.TB, url, token, session string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return rawPost(t, url, body, map[string]string{
		"Authorization":           "Bearer " + token,
		mcp.HeaderProtocolVersion: mcp.ProtocolVersion20251125,
		server.HeaderKeySessionID: session,
	})
}

func TestHTTPSessionBinding(t *testing.T) {
	s, core, ts := newTestServer(t, nil)
	c := newClient(t, ts.URL, tokenAlice, mcp.ProtocolVersion20251125)
	sid := c.GetSessionId()
	if sid == "" {
		t.Fatal("no session id issued")
	}
	list := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	call := []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"secret","arguments":{}}}`)

	tests := []struct {
		name       string
		token      string
		session    string
		body       []byte
		wantStatus int
	}{
		{"owner", tokenAlice, sid, list, 200},
		{"another principal lists", tokenBob, sid, list, 403},
		{"another principal calls", tokenBob, sid, call, 403},
		{"same subject, other key", tokenAlice2, sid, list, 403},
		{"never issued", tokenAlice, "tw-AAAAAAAAAAAAAAAAAAAAAAAAAA", list, 404},
		{"mcp-go format, never issued", tokenAlice, "mcp-session-8f0e8c3c-3b8e-4b8e-9a4e-3f6b2c1d0e9f", list, 404},
		{"no session", tokenAlice, "", list, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := core.callCount()
			resp, body := legacyPost(t, ts.URL, tc.token, tc.session, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus != 200 && core.callCount() != before {
				t.Errorf("refused request reached the broker")
			}
		})
	}

	// GET and DELETE are bound too.
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, ts.URL+EndpointPath, nil)
		req.Header.Set("Authorization", "Bearer "+tokenBob)
		req.Header.Set(server.HeaderKeySessionID, sid)
		req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20251125)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s by another principal: status %d, want 403", method, resp.StatusCode)
		}
	}
	if _, err := c.ListTools(context.Background(), mcp.ListToolsRequest{}); err != nil {
		t.Fatalf("owner's session no longer works: %v", err)
	}

	// The owner may open a GET stream on it.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+EndpointPath, nil)
	req.Header.Set("Authorization", "Bearer "+tokenAlice)
	req.Header.Set(server.HeaderKeySessionID, sid)
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20251125)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if stream.StatusCode != http.StatusOK || !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("GET by owner: status %d content type %q, want an event stream", stream.StatusCode, stream.Header.Get("Content-Type"))
	}
	cancel()
	stream.Body.Close()

	// The owner ends the session; it is gone for everyone.
	req, _ = http.NewRequest(http.MethodDelete, ts.URL+EndpointPath, nil)
	req.Header.Set("Authorization", "Bearer "+tokenAlice)
	req.Header.Set(server.HeaderKeySessionID, sid)
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20251125)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE by owner: status %d", resp.StatusCode)
	}
	if resp, body := legacyPost(t, ts.URL, tokenAlice, sid, list); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after DELETE: status %d, want 404; body %s", resp.StatusCode, body)
	}
	if n := s.sessions.len(); n != 0 {
		t.Errorf("%d sessions left after DELETE", n)
	}
}

func TestHTTPStatelessNeedsNoSession(t *testing.T) {
	_, core, ts := newTestServer(t, nil)
	c := newClient(t, ts.URL, tokenBob, "")
	if got := c.ProtocolVersion(); got != mcp.ProtocolVersion20260728 {
		t.Fatalf("client negotiated %q, want %s", got, mcp.ProtocolVersion20260728)
	}
	if c.GetSessionId() != "" {
		t.Fatalf("stateless client holds session %q", c.GetSessionId())
	}
	if _, err := c.CallTool(context.Background(), callRequest("echo", map[string]any{"message": "x"})); err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	if m := core.lastCall(t).Meta; m.Session != "" || m.Protocol != mcp.ProtocolVersion20260728 {
		t.Errorf("Meta session %q protocol %q, want none and %s", m.Session, m.Protocol, mcp.ProtocolVersion20260728)
	}
	// A session id on a stateless request is ignored, never trusted: the
	// credential decides.
	resp, body := rawPost(t, ts.URL, modernBody(3, "tools/call", map[string]any{"name": "secret", "arguments": map[string]any{}}),
		map[string]string{"Authorization": "Bearer " + tokenBob, mcp.HeaderMethod: "tools/call", mcp.HeaderName: "secret", server.HeaderKeySessionID: "tw-whatever"})
	if r := decodeReply(t, body); r.Error == nil || r.Error.Code != int(mcp.INVALID_PARAMS) {
		t.Errorf("bob calling secret with a session header: status %d body %s, want tool not found", resp.StatusCode, body)
	}
}

func TestMetadata(t *testing.T) {
	_, _, ts := newTestServer(t, nil)
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		want := `{"resource":"https://broker.example.com/mcp","authorization_servers":["https://id.example.com"],"bearer_methods_supported":["header"]}`
		if string(body) != want {
			t.Errorf("GET %s = %s\nwant %s", path, body, want)
		}
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	hs := s.HTTPServer("127.0.0.1:0")
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 {
		t.Errorf("HTTPServer leaves a limit unset: %+v", hs)
	}
	if hs.Handler == nil {
		t.Errorf("HTTPServer has no handler")
	}
}

func TestNewValidates(t *testing.T) {
	base := func() Config { return Config{Core: &fakeCore{}, Auth: fakeAuth{}} }
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no core", func(c *Config) { c.Core = nil }, "Config.Core"},
		{"no auth", func(c *Config) { c.Auth = nil }, "Config.Auth"},
		{"negative body", func(c *Config) { c.MaxBodyBytes = -1 }, "Config.MaxBodyBytes"},
		{"negative frame", func(c *Config) { c.MaxFrameBytes = -1 }, "Config.MaxFrameBytes"},
		{"negative idle", func(c *Config) { c.SessionIdleTimeout = -1 }, "Config.SessionIdleTimeout"},
		{"null origin", func(c *Config) { c.AllowedOrigins = []string{"null"} }, "Config.AllowedOrigins[0]"},
		{"origin with path", func(c *Config) { c.AllowedOrigins = []string{"https://a.example/x"} }, "Config.AllowedOrigins[0]"},
		{"relative resource", func(c *Config) { c.ResourceURL = "/mcp" }, "Config.ResourceURL"},
		{"servers without resource", func(c *Config) { c.AuthorizationServers = []string{"https://id.example"} }, "Config.AuthorizationServers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mod(&cfg)
			s, err := New(cfg)
			if err == nil {
				s.Close()
				t.Fatalf("New = nil error, want one naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %q, want it to name %s", err, tc.want)
			}
		})
	}
}
