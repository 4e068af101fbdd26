package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// End-to-end tests: TestMain builds the real binary and the wasm tools once;
// each test writes its own config, manifests and keys, runs `toolwarden
// serve` over Streamable HTTP or stdio, drives it with mark3labs/mcp-go's
// client (or raw frames where the client hides what is asserted), and reads
// every decision back from the audit log, which must verify at the end.

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "toolwarden-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := 1
	if err := setup(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// The callers the tests make keys for.
var (
	alice = principal{tenant: "acme", subject: "alice", roles: []string{"analyst"}}
	root  = principal{tenant: "acme", subject: "root", roles: []string{"admin"}}
	bob   = principal{tenant: "acme", subject: "bob", roles: []string{"analyst"}}
)

// maxFrame is the default cap on an HTTP body and on a stdio frame.
const maxFrame = 4 << 20

// Reason codes, as clients and the audit log see them.
const (
	codeDeniedArgs   = "denied.arguments"
	codeDeniedRole   = "denied.role"
	codeUnknownTool  = "denied.unknown_tool"
	codeInvalidArgs  = "invalid.arguments"
	codeArgsTooLarge = "invalid.arguments_size"
)

// _meta keys of toolwarden's tool results.
const (
	metaSeq    = "toolwarden.dev/seq"
	metaReason = "toolwarden.dev/reason"
)

func callReq(name, args string) mcp.CallToolRequest {
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = json.RawMessage(args)
	return req
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Errorf("%s: %v", a, err)
		return false
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Errorf("%s: %v", b, err)
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// effectiveSchema is a tool's schema with a role's argument constraints
// ANDed in, as tools/list shows it to that role.
func effectiveSchema(t *testing.T, tool, constraints string) []byte {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal([]byte(toolSchemas[tool]), &s); err != nil {
		t.Fatal(err)
	}
	var c any
	if err := json.Unmarshal([]byte(constraints), &c); err != nil {
		t.Fatal(err)
	}
	s["allOf"] = []any{map[string]any{"properties": c}}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resultText is the text of a result's one text item, or "".
func resultText(res *mcp.CallToolResult) string {
	if res == nil || len(res.Content) != 1 {
		return ""
	}
	tc, _ := res.Content[0].(mcp.TextContent)
	return tc.Text
}

// checkAllowed checks the reply of a call that ran: the tool's JSON result
// as text and structured content, and the audit sequence number of rec.
func checkAllowed(t *testing.T, res *mcp.CallToolResult, err error, want string, rec audit.Record) {
	t.Helper()
	if err != nil || res == nil || res.IsError {
		t.Errorf("CallTool = %+v, %v; want a result", res, err)
		return
	}
	if len(res.Content) != 1 {
		t.Errorf("result content = %+v, want one text item", res.Content)
		return
	}
	text, ok := res.Content[0].(mcp.TextContent)
	if !ok || !jsonEqual(t, []byte(text.Text), []byte(want)) {
		t.Errorf("result text = %+v, want %s", res.Content[0], want)
	}
	if !jsonEqual(t, res.RawStructuredContent, []byte(want)) {
		t.Errorf("structuredContent = %s, want %s", res.RawStructuredContent, want)
	}
	if res.Meta == nil || res.Meta.AdditionalFields[metaSeq] != float64(rec.Seq) {
		t.Errorf("result _meta = %+v, want %s %d (the audit record)", res.Meta, metaSeq, rec.Seq)
	}
}

// checkRefused checks an isError result: text "CODE: message", the code
// in structuredContent and _meta, and a message containing detail.
func checkRefused(t *testing.T, res *mcp.CallToolResult, err error, code, detail string) {
	t.Helper()
	if err != nil || res == nil || !res.IsError {
		t.Errorf("CallTool = %+v, %v; want an isError result with %s", res, err, code)
		return
	}
	text := ""
	if len(res.Content) == 1 {
		if tc, ok := res.Content[0].(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	var sc struct{ Code, Message string }
	if e := json.Unmarshal(res.RawStructuredContent, &sc); e != nil || sc.Code != code || text != code+": "+sc.Message {
		t.Errorf("refusal text %q, structuredContent %s; want text %q + message, code %q", text, res.RawStructuredContent, code+": ", code)
	}
	if !strings.Contains(sc.Message, detail) {
		t.Errorf("refusal message %q does not mention %q", sc.Message, detail)
	}
	if res.Meta == nil || res.Meta.AdditionalFields[metaReason] != code {
		t.Errorf("refusal _meta = %+v, want %s %q", res.Meta, metaReason, code)
	}
}

// listSchemas sends tools/list on c's own connection (and session) and
// returns each tool's input schema as the server sent it: mcp-go's typed
// ListTools drops schema keywords it does not model ($schema, allOf).
func listSchemas(t *testing.T, c *client.Client, modern bool) map[string]json.RawMessage {
	t.Helper()
	params := map[string]any{}
	var hdr http.Header
	if modern {
		params["_meta"] = map[string]any{
			mcp.MetaKeyProtocolVersion:    protoModern,
			mcp.MetaKeyClientCapabilities: map[string]any{},
			mcp.MetaKeyClientInfo:         map[string]any{"name": rawClient, "version": clientVersion},
		}
		hdr = http.Header{}
		hdr.Set(mcp.HeaderMethod, string(mcp.MethodToolsList))
	}
	resp, err := c.GetTransport().SendRequest(context.Background(), transport.JSONRPCRequest{
		JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(int64(1_000_000)), Method: string(mcp.MethodToolsList), Params: params, Header: hdr,
	})
	if err != nil || resp.Error != nil {
		t.Fatalf("raw tools/list = %+v, %v", resp, err)
	}
	var result struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(resp.Result, &result); err != nil {
		t.Fatalf("tools/list result %s: %v", resp.Result, err)
	}
	out := make(map[string]json.RawMessage)
	for _, tool := range result.Tools {
		out[tool.Name] = tool.InputSchema
	}
	return out
}

// transportCase is one way of reaching the broker: how to connect as a key,
// and what the audit records of that connection's calls say.
type transportCase struct {
	env    *testEnv
	modern bool
	// open connects as k; done ends the connection and checks how it ended.
	open func(t *testing.T, k apiKey) (c *client.Client, done func(*testing.T))
	// from is where c's calls come from, as the audit log records it.
	from func(c *client.Client) origin
}

// runToolScenario runs the calls every transport must get right: the
// per-role tool list, an allowed call, a call the role's constraint
// denies, a tool the role does not grant and one that does not exist (one
// reply, two audit reasons), invalid arguments, and the admin's wider view.
func runToolScenario(t *testing.T, tc transportCase, analyst, admin apiKey) {
	ctx := context.Background()
	record := func(k apiKey, from origin, w wantRecord) wantRecord {
		w.who, w.auth, w.keyID, w.from = k.principal, "apikey", k.id, from
		return w
	}

	t.Run("analyst", func(t *testing.T) {
		c, done := tc.open(t, analyst)
		defer done(t)
		from := tc.from(c)

		list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("ListTools: %v", err)
		}
		if len(list.Tools) != 1 || list.Tools[0].Name != "echo" || list.Tools[0].Description != toolDescriptions["echo"] {
			t.Errorf("analyst's tools/list = %+v, want only echo", list.Tools)
		}
		schemas := listSchemas(t, c, tc.modern)
		if want := effectiveSchema(t, "echo", `{"text":{"pattern":"`+analystPattern+`"}}`); !jsonEqual(t, schemas["echo"], want) {
			t.Errorf("analyst's echo inputSchema = %s\nwant %s", schemas["echo"], want)
		}

		const args = `{"text":"hello world"}`
		mark := tc.env.mark(t)
		res, err := c.CallTool(ctx, callReq("echo", args))
		rec := tc.env.one(t, mark)
		checkAllowed(t, res, err, args, rec)
		checkRecord(t, rec, record(analyst, from, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst"}))
		if rec.ArgsSHA256 != argsSHA256(args) {
			t.Errorf("args_sha256 = %s, want the digest of the bytes sent, %s", rec.ArgsSHA256, argsSHA256(args))
		}

		mark = tc.env.mark(t)
		res, err = c.CallTool(ctx, callReq("echo", `{"text":"goodbye"}`))
		checkRefused(t, res, err, codeDeniedArgs, "/text")
		checkRecord(t, tc.env.one(t, mark), record(analyst, from, wantRecord{decision: audit.DecisionDeny, reason: codeDeniedArgs, tool: "echo"}))

		mark = tc.env.mark(t)
		res, errRole := c.CallTool(ctx, callReq("jq", `{"filter":".","input":1}`))
		if errRole == nil {
			t.Errorf("CallTool(jq) as analyst = %+v, want a JSON-RPC error", res)
		}
		checkRecord(t, tc.env.one(t, mark), record(analyst, from, wantRecord{decision: audit.DecisionDeny, reason: codeDeniedRole, tool: "jq"}))
		mark = tc.env.mark(t)
		res, errUnknown := c.CallTool(ctx, callReq("nope", `{"text":"hello"}`))
		if errUnknown == nil {
			t.Errorf("CallTool(nope) = %+v, want a JSON-RPC error", res)
		}
		checkRecord(t, tc.env.one(t, mark), record(analyst, from, wantRecord{decision: audit.DecisionDeny, reason: codeUnknownTool, tool: "nope"}))
		if errRole != nil && errUnknown != nil && (!errors.Is(errRole, mcp.ErrInvalidParams) ||
			strings.ReplaceAll(errRole.Error(), "jq", "NAME") != strings.ReplaceAll(errUnknown.Error(), "nope", "NAME")) {
			t.Errorf("not granted: %v; unknown: %v; want the same invalid-params error", errRole, errUnknown)
		}

		mark = tc.env.mark(t)
		res, err = c.CallTool(ctx, callReq("echo", `{"text":5}`))
		checkRefused(t, res, err, codeInvalidArgs, "/text")
		checkRecord(t, tc.env.one(t, mark), record(analyst, from, wantRecord{decision: audit.DecisionDeny, reason: codeInvalidArgs, tool: "echo"}))
	})

	t.Run("admin", func(t *testing.T) {
		c, done := tc.open(t, admin)
		defer done(t)
		from := tc.from(c)

		list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("ListTools: %v", err)
		}
		var names []string
		for _, tool := range list.Tools {
			names = append(names, tool.Name)
		}
		if !slices.Equal(names, e2eTools) {
			t.Errorf("admin's tools/list = %v, want %v", names, e2eTools)
		}
		schemas := listSchemas(t, c, tc.modern)
		for _, tool := range e2eTools {
			if !jsonEqual(t, schemas[tool], []byte(toolSchemas[tool])) {
				t.Errorf("admin's %s inputSchema = %s\nwant the manifest's %s", tool, schemas[tool], toolSchemas[tool])
			}
		}

		mark := tc.env.mark(t)
		res, err := c.CallTool(ctx, callReq("echo", `{"text":"goodbye"}`))
		rec := tc.env.one(t, mark)
		checkAllowed(t, res, err, `{"text":"goodbye"}`, rec)
		checkRecord(t, rec, record(admin, from, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "admin"}))

		mark = tc.env.mark(t)
		res, err = c.CallTool(ctx, callReq("jq", `{"filter":".a[1]","input":{"a":[1,{"b":2}]}}`))
		rec = tc.env.one(t, mark)
		if err != nil || res.IsError || !strings.Contains(resultText(res), `{"b":2}`) {
			t.Errorf("CallTool(jq) as admin = %+v, %v; want a result holding {\"b\":2}", res, err)
		}
		checkRecord(t, rec, record(admin, from, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "jq", grantedBy: "admin"}))
	})
}

// httpCase reaches srv with mcp-go's Streamable HTTP client.
func httpCase(srv *server, opts ...client.ClientOption) transportCase {
	legacy := len(opts) > 0
	return transportCase{
		env:    srv.env,
		modern: !legacy,
		open: func(t *testing.T, k apiKey) (*client.Client, func(*testing.T)) {
			c := dialHTTP(t, srv.url, k.secret, opts...)
			return c, func(*testing.T) { _ = c.Close() }
		},
		from: func(c *client.Client) origin {
			o := origin{transport: "http", protocol: protoModern, clientName: "e2e-http", clientVersion: clientVersion, remote: true}
			if legacy {
				o.protocol, o.session = protoLegacy, c.GetSessionId()
			}
			return o
		},
	}
}

// stdioCase reaches a `toolwarden serve --stdio` of env per connection.
func stdioCase(env *testEnv, opts ...client.ClientOption) transportCase {
	legacy := len(opts) > 0
	return transportCase{
		env:    env,
		modern: !legacy,
		open: func(t *testing.T, k apiKey) (*client.Client, func(*testing.T)) {
			conn := env.dialStdio(t, k.secret, opts...)
			return conn.Client, conn.close
		},
		from: func(*client.Client) origin {
			o := origin{transport: "stdio", sessionPrefix: "stdio-", protocol: protoModern, clientName: "e2e-stdio", clientVersion: clientVersion}
			if legacy {
				o.protocol = protoLegacy
			}
			return o
		},
	}
}

// rawOrigin is where raw stateless HTTP requests come from.
var rawOrigin = origin{transport: "http", protocol: protoModern, clientName: rawClient, clientVersion: clientVersion, remote: true}

// wantUnauthorized checks a 401: a JSON-RPC error with the public message,
// and a Bearer challenge that names the metadata and, for a presented
// credential, error="invalid_token" with the same description.
func wantUnauthorized(t *testing.T, srv *server, r httpReply, id int, description string, presented bool) {
	t.Helper()
	if r.status != http.StatusUnauthorized || !r.isRPC || r.rpc.Error == nil {
		t.Fatalf("reply = %d %s, want 401 with a JSON-RPC error", r.status, r.body)
	}
	if got, want := *r.rpc.Error, (rpcError{Code: -32001, Message: "unauthorized: " + description}); got != want || string(r.rpc.ID) != fmt.Sprint(id) {
		t.Errorf("401 reply = id %s %+v, want id %d %+v", r.rpc.ID, got, id, want)
	}
	// Which port the metadata URL names is TestHTTP's "resource metadata"
	// case; here it must be a loopback URL of the metadata path.
	challenge := r.header.Values("WWW-Authenticate")
	meta := ""
	if len(challenge) == 1 {
		_, rest, _ := strings.Cut(challenge[0], `resource_metadata="`)
		meta, _, _ = strings.Cut(rest, `"`)
	}
	want := `Bearer resource_metadata="` + meta + `"`
	if presented {
		want += `, error="invalid_token", error_description="` + description + `"`
	}
	if len(challenge) != 1 || challenge[0] != want || !strings.HasPrefix(meta, "http://127.0.0.1:") || !strings.HasSuffix(meta, metadataPath) {
		t.Errorf("WWW-Authenticate = %q, want %q with a loopback URL ending in %s", challenge, want, metadataPath)
	}
}

// metadataPath is where RFC 9728 metadata of the /mcp resource is served.
const metadataPath = "/.well-known/oauth-protected-resource/mcp"

func TestHTTP(t *testing.T) {
	t.Parallel()
	env := newEnv(t, "")
	analyst := env.addKey(t, alice)
	admin := env.addKey(t, root)
	other := env.addKey(t, bob)
	expiring := env.addKey(t, principal{tenant: "acme", subject: "temp", roles: []string{"admin"}}, "--expires", "1s")
	expired := time.Now().Add(2 * time.Second) // the key expires 1s after it was made, before this
	srv := env.serveHTTP(t)
	ctx := context.Background()

	t.Run("stateless 2026-07-28 client", func(t *testing.T) {
		c := dialHTTP(t, srv.url, analyst.secret)
		if c.ProtocolVersion() != protoModern || c.GetSessionId() != "" {
			t.Errorf("mcp-go's default client negotiated %q with session %q, want %s and no session", c.ProtocolVersion(), c.GetSessionId(), protoModern)
		}
		runToolScenario(t, httpCase(srv), analyst, admin)
	})

	t.Run("session client 2025-11-25", func(t *testing.T) {
		c := dialHTTP(t, srv.url, analyst.secret, client.WithProtocolVersion(protoLegacy))
		if c.ProtocolVersion() != protoLegacy || !strings.HasPrefix(c.GetSessionId(), "tw-") {
			t.Errorf("pinned client negotiated %q with session %q, want %s and a tw- session", c.ProtocolVersion(), c.GetSessionId(), protoLegacy)
		}
		runToolScenario(t, httpCase(srv, client.WithProtocolVersion(protoLegacy)), analyst, admin)
	})

	t.Run("unknown and ungranted tools get one error", func(t *testing.T) {
		mark := env.mark(t)
		role := post(t, srv.url, bytes.NewReader(modernCall(1, "jq", `{"filter":".","input":1}`)), modernHeaders(analyst.secret, "tools/call", "jq"))
		unknown := post(t, srv.url, bytes.NewReader(modernCall(2, "nope", `{"text":"hello"}`)), modernHeaders(analyst.secret, "tools/call", "nope"))
		if role.status != unknown.status || !role.isRPC || !unknown.isRPC {
			t.Fatalf("replies = %d %s, %d %s; want the same status and JSON-RPC errors", role.status, role.body, unknown.status, unknown.body)
		}
		r, u := toolNotFound(t, role.rpc, "jq"), toolNotFound(t, unknown.rpc, "nope")
		if r != u || r.Code != mcp.INVALID_PARAMS || !strings.Contains(r.Message, "not found") {
			t.Errorf("not granted: %+v; unknown: %+v; want one invalid-params \"not found\" error", r, u)
		}
		recs := env.since(t, mark)
		if len(recs) != 2 {
			t.Fatalf("audit log gained %d records, want 2: %+v", len(recs), recs)
		}
		who := func(w wantRecord) wantRecord {
			w.who, w.auth, w.keyID, w.from, w.decision = alice, "apikey", analyst.id, rawOrigin, audit.DecisionDeny
			return w
		}
		checkRecord(t, recs[0], who(wantRecord{reason: codeDeniedRole, tool: "jq", requestID: "1"}))
		checkRecord(t, recs[1], who(wantRecord{reason: codeUnknownTool, tool: "nope", requestID: "2"}))
	})

	t.Run("body over 4 MiB", func(t *testing.T) {
		hdr := modernHeaders(analyst.secret, "tools/call", "echo")
		build := func(args string) []byte { return modernCall(3, "echo", args) }

		// At the cap the body is read, and the broker's 1 MiB argument cap refuses it.
		mark := env.mark(t)
		r := post(t, srv.url, bytes.NewReader(sizedCall(t, maxFrame, build)), hdr)
		var res mcp.CallToolResult
		if r.status != http.StatusOK || !r.isRPC || json.Unmarshal(r.rpc.Result, &res) != nil {
			t.Fatalf("body of exactly %d bytes: %d %.200s, want 200 and a result", maxFrame, r.status, r.body)
		}
		checkRefused(t, &res, nil, codeArgsTooLarge, "")
		checkRecord(t, env.one(t, mark), wantRecord{decision: audit.DecisionDeny, reason: codeArgsTooLarge, tool: "echo",
			who: alice, auth: "apikey", keyID: analyst.id, requestID: "3", from: rawOrigin})

		// One byte over: 413, with or without a Content-Length, and the
		// refusal recorded (not the body).
		for _, chunked := range []bool{false, true} {
			mark := env.mark(t)
			var body io.Reader = bytes.NewReader(sizedCall(t, maxFrame+1, build))
			if chunked {
				body = io.MultiReader(body)
			}
			r := post(t, srv.url, body, hdr)
			want := rpcError{Code: -32600, Message: fmt.Sprintf("request body exceeds the limit of %d bytes", maxFrame)}
			if r.status != http.StatusRequestEntityTooLarge || !r.isRPC || r.rpc.Error == nil || *r.rpc.Error != want || string(r.rpc.ID) != "null" {
				t.Errorf("body of %d bytes (chunked %v): %d %s, want 413 with id null and %+v", maxFrame+1, chunked, r.status, r.body, want)
			}
			env.refused(t, mark, "frame.too_large")
		}

		// mcp-go's client gets the error, and its next call is served.
		c := dialHTTP(t, srv.url, analyst.secret)
		mark = env.mark(t)
		if _, err := c.CallTool(ctx, callReq("echo", `{"text":"hello`+strings.Repeat("a", maxFrame)+`"}`)); err == nil || !strings.Contains(err.Error(), want413) {
			t.Errorf("CallTool over the cap: %v, want an error saying %q", err, want413)
		}
		env.refused(t, mark, "frame.too_large")
		mark = env.mark(t)
		res2, err := c.CallTool(ctx, callReq("echo", `{"text":"hello again"}`))
		rec := env.one(t, mark)
		checkAllowed(t, res2, err, `{"text":"hello again"}`, rec)
		checkRecord(t, rec, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst",
			who: alice, auth: "apikey", keyID: analyst.id, from: httpCase(srv).from(c)})
	})

	t.Run("foreign origin", func(t *testing.T) {
		for _, o := range []string{"https://evil.example", "null", allowedOrigin + ".evil.example"} {
			hdr := modernHeaders(analyst.secret, "tools/call", "echo")
			hdr.Set("Origin", o)
			mark := env.mark(t)
			r := post(t, srv.url, bytes.NewReader(modernCall(4, "echo", `{"text":"hello"}`)), hdr)
			if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "Origin not allowed") {
				t.Errorf("Origin %q: %d %s, want 403 Origin not allowed", o, r.status, r.body)
			}
			if rec := env.refused(t, mark, "protocol.origin"); rec.Tenant != "" || !strings.Contains(rec.Error, o) {
				t.Errorf("refused Origin recorded as %+v, want no principal (not authenticated yet) and the Origin named", rec)
			}
		}
		hdr := modernHeaders(analyst.secret, "tools/call", "echo")
		hdr.Set("Origin", allowedOrigin)
		mark := env.mark(t)
		r := post(t, srv.url, bytes.NewReader(modernCall(5, "echo", `{"text":"hello"}`)), hdr)
		var res mcp.CallToolResult
		if r.status != http.StatusOK || !r.isRPC || json.Unmarshal(r.rpc.Result, &res) != nil || res.IsError {
			t.Fatalf("allowed Origin %q: %d %s, want a result", allowedOrigin, r.status, r.body)
		}
		checkRecord(t, env.one(t, mark), wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst",
			who: alice, auth: "apikey", keyID: analyst.id, requestID: "5", from: rawOrigin})
	})

	t.Run("session presented by another principal", func(t *testing.T) {
		a := dialHTTP(t, srv.url, analyst.secret, client.WithProtocolVersion(protoLegacy))
		sid := a.GetSessionId()
		if !strings.HasPrefix(sid, "tw-") {
			t.Fatalf("session id = %q, want one issued by toolwarden", sid)
		}
		hdr := http.Header{}
		hdr.Set("Authorization", "Bearer "+other.secret)
		hdr.Set("Mcp-Session-Id", sid)
		hdr.Set(mcp.HeaderProtocolVersion, protoLegacy)

		mark := env.mark(t)
		r := post(t, srv.url, bytes.NewReader(legacyCall(6, "echo", `{"text":"hello"}`)), hdr)
		want := rpcError{Code: -32600, Message: "session belongs to another principal"}
		if r.status != http.StatusForbidden || !r.isRPC || r.rpc.Error == nil || *r.rpc.Error != want || string(r.rpc.ID) != "6" {
			t.Errorf("tools/call on another principal's session: %d %s, want 403 with id 6 and %+v", r.status, r.body, want)
		}
		// The call did not run. (Nothing is recorded for it either; see the
		// report: a refused session reuse reaches only the operator log.)
		for _, rec := range env.since(t, mark) {
			if rec.Decision != audit.DecisionDeny || rec.Subject != bob.subject {
				t.Errorf("audit record after the refused session reuse: %+v", rec)
			}
		}

		// Nor can bob end alice's session.
		del, err := http.NewRequest(http.MethodDelete, srv.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		del.Header = hdr.Clone()
		if r := do(t, del); r.status != http.StatusForbidden {
			t.Errorf("DELETE of another principal's session: %d %s, want 403", r.status, r.body)
		}

		mark = env.mark(t)
		res, err := a.CallTool(ctx, callReq("echo", `{"text":"hello, still mine"}`))
		rec := env.one(t, mark)
		checkAllowed(t, res, err, `{"text":"hello, still mine"}`, rec)
		checkRecord(t, rec, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst",
			who: alice, auth: "apikey", keyID: analyst.id,
			from: origin{transport: "http", session: sid, protocol: protoLegacy, clientName: "e2e-http", clientVersion: clientVersion, remote: true}})
	})

	t.Run("missing or unknown credential", func(t *testing.T) {
		mark := env.mark(t)
		r := post(t, srv.url, bytes.NewReader(modernCall(7, "echo", `{"text":"hello"}`)), modernHeaders("", "tools/call", "echo"))
		wantUnauthorized(t, srv, r, 7, "no credential presented", false)
		checkRecord(t, env.one(t, mark), wantRecord{decision: audit.DecisionDeny, reason: "auth.missing", tool: "echo", requestID: "7", from: rawOrigin})

		mark = env.mark(t)
		forged := "tw_" + analyst.id + "_" + strings.Repeat("a", 52)
		r = post(t, srv.url, bytes.NewReader(modernCall(8, "echo", `{"text":"hello"}`)), modernHeaders(forged, "tools/call", "echo"))
		wantUnauthorized(t, srv, r, 8, "credential not accepted", true)
		checkRecord(t, env.one(t, mark), wantRecord{decision: audit.DecisionDeny, reason: "auth.invalid", tool: "echo", requestID: "8", from: rawOrigin})
	})

	t.Run("resource metadata names the bound address", func(t *testing.T) {
		// serve --listen 127.0.0.1:0 must advertise the port it bound, in
		// the 401 challenge and in the metadata document, or a client
		// following them cannot reach the server.
		want := strings.TrimSuffix(srv.url, "/mcp") + metadataPath
		r := post(t, srv.url, bytes.NewReader(modernCall(10, "echo", `{"text":"hello"}`)), modernHeaders("", "tools/call", "echo"))
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer resource_metadata="`+want+`"` {
			t.Errorf("WWW-Authenticate = %q, want resource_metadata=%q", got, want)
		}
		get, err := http.NewRequest(http.MethodGet, want, nil)
		if err != nil {
			t.Fatal(err)
		}
		doc := do(t, get)
		var md struct {
			Resource      string   `json:"resource"`
			BearerMethods []string `json:"bearer_methods_supported"`
		}
		if doc.status != http.StatusOK || json.Unmarshal(doc.body, &md) != nil || md.Resource != srv.url || !slices.Equal(md.BearerMethods, []string{"header"}) {
			t.Errorf("GET %s = %d %s, want resource %q and bearer_methods_supported [header]", want, doc.status, doc.body, srv.url)
		}
	})

	t.Run("expired API key", func(t *testing.T) {
		// A correctness wait, not a timing assertion: the key must be past
		// its expiry before it is presented.
		time.Sleep(time.Until(expired))
		mark := env.mark(t)
		r := post(t, srv.url, bytes.NewReader(modernCall(9, "echo", `{"text":"hello"}`)), modernHeaders(expiring.secret, "tools/call", "echo"))
		wantUnauthorized(t, srv, r, 9, "credential expired or not yet valid", true)
		checkRecord(t, env.one(t, mark), wantRecord{decision: audit.DecisionDeny, reason: "auth.expired", tool: "echo", requestID: "9", from: rawOrigin})

		tr, err := transport.NewStreamableHTTP(srv.url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + expiring.secret}))
		if err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(tr)
		defer c.Close()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); !errors.Is(err, transport.ErrAuthorizationRequired) {
			t.Errorf("mcp-go Initialize with an expired key: %v, want %v", err, transport.ErrAuthorizationRequired)
		}
	})
}

// want413 is what mcp-go's client reports for an oversize body.
var want413 = fmt.Sprintf("request body exceeds the limit of %d bytes", maxFrame)

const (
	jwtIssuer   = "https://issuer.e2e.example"
	jwtAudience = "toolwarden-e2e"
	jwtConfig   = `jwt:
  issuer: ` + jwtIssuer + `
  audience: ` + jwtAudience + `
  jwksFile: ./jwks.json
  algorithms: [ES256]
  tenantClaim: org
  rolesClaim: groups
`
)

func TestJWT(t *testing.T) {
	t.Parallel()
	env := newEnv(t, jwtConfig)
	is := newIssuer(t, "e2e-key-1")
	is.writeJWKS(t, filepath.Join(env.dir, "jwks.json"))
	srv := env.serveHTTP(t)
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": jwtIssuer, "aud": jwtAudience, "sub": "carol", "org": "globex", "groups": []string{"analyst"},
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "tok-1",
		}
		if change != nil {
			change(c)
		}
		return c
	}
	carol := principal{tenant: "globex", subject: "carol", roles: []string{"analyst"}}

	t.Run("valid token", func(t *testing.T) {
		c := dialHTTP(t, srv.url, is.sign(t, claims(nil)))
		list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
		if err != nil || len(list.Tools) != 1 || list.Tools[0].Name != "echo" {
			t.Fatalf("ListTools with the token = %+v, %v; want echo only (role analyst from the groups claim)", list, err)
		}
		mark := env.mark(t)
		res, err := c.CallTool(context.Background(), callReq("echo", `{"text":"hello from a token"}`))
		rec := env.one(t, mark)
		checkAllowed(t, res, err, `{"text":"hello from a token"}`, rec)
		checkRecord(t, rec, wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst",
			who: carol, auth: "jwt", keyID: "tok-1", audience: jwtAudience, from: httpCase(srv).from(c)})
	})

	stranger := newIssuer(t, is.kid) // same kid, key not in the JWKS
	refusals := []struct {
		name, token, code, description string
		cause                          string // what the audit record's error must say failed
	}{
		{"wrong audience", is.sign(t, claims(func(c map[string]any) { c["aud"] = "another-service" })),
			"auth.audience", "token not issued for this service", `audience ["another-service"]`},
		{"expired", is.sign(t, claims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		})), "auth.expired", "credential expired or not yet valid", "expired at"},
		{"alg none", is.unsigned(t, claims(nil)), "auth.invalid", "credential not accepted", `alg "none"`},
		{"signed by another key", stranger.sign(t, claims(nil)), "auth.invalid", "credential not accepted", "signature"},
		{"wrong issuer", is.sign(t, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })),
			"auth.invalid", "credential not accepted", `issuer "https://evil.example"`},
	}
	errs := make(map[string]string) // refusal name → its audit record's error
	for i, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			id := 100 + i
			mark := env.mark(t)
			r := post(t, srv.url, bytes.NewReader(modernCall(id, "echo", `{"text":"hello"}`)), modernHeaders(tc.token, "tools/call", "echo"))
			wantUnauthorized(t, srv, r, id, tc.description, true)
			rec := env.one(t, mark)
			checkRecord(t, rec, wantRecord{decision: audit.DecisionDeny, reason: tc.code, tool: "echo", requestID: fmt.Sprint(id), from: rawOrigin})
			errs[tc.name] = rec.Error
		})
	}

	t.Run("audit records name the failed check", func(t *testing.T) {
		// The client sees only the category; the audit log must say which
		// check refused the token (package auth keeps it in Error.Err "for
		// the audit log").
		for _, tc := range refusals {
			if got := errs[tc.name]; !strings.Contains(got, tc.cause) {
				t.Errorf("%s: audit error = %q, want it to name the failed check (%q)", tc.name, got, tc.cause)
			}
		}
	})
}

func TestStdio(t *testing.T) {
	t.Parallel()
	env := newEnv(t, "")
	analyst := env.addKey(t, alice)
	admin := env.addKey(t, root)
	// Each stdio broker holds the audit log's lock while it runs, so the
	// connections below run one after another.

	t.Run("stateless 2026-07-28 client", func(t *testing.T) {
		runToolScenario(t, stdioCase(env), analyst, admin)
	})
	t.Run("session client 2025-11-25", func(t *testing.T) {
		runToolScenario(t, stdioCase(env, client.WithProtocolVersion(protoLegacy)), analyst, admin)
	})

	t.Run("frame over 4 MiB", func(t *testing.T) {
		p := env.rawStdio(t, analyst.secret)
		init := p.call(t, 1, []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+protoLegacy+
			`","capabilities":{},"clientInfo":{"name":"`+rawClient+`","version":"`+clientVersion+`"}}}`))
		var ir struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if init.Error != nil || json.Unmarshal(init.Result, &ir) != nil || ir.ProtocolVersion != protoLegacy {
			t.Fatalf("initialize = %+v, want protocol %s", init, protoLegacy)
		}
		p.send(t, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
		from := origin{transport: "stdio", sessionPrefix: "stdio-", protocol: protoLegacy, clientName: rawClient, clientVersion: clientVersion}
		who := func(w wantRecord) wantRecord {
			w.who, w.auth, w.keyID, w.from = alice, "apikey", analyst.id, from
			return w
		}

		// At the cap the frame is read, and the broker's argument cap refuses it.
		mark := env.mark(t)
		r := p.call(t, 2, sizedCall(t, maxFrame, func(args string) []byte { return legacyCall(2, "echo", args) }))
		var res mcp.CallToolResult
		if r.Error != nil || json.Unmarshal(r.Result, &res) != nil {
			t.Fatalf("frame of exactly %d bytes: %+v, want a result", maxFrame, r)
		}
		checkRefused(t, &res, nil, codeArgsTooLarge, "")
		checkRecord(t, env.one(t, mark), who(wantRecord{decision: audit.DecisionDeny, reason: codeArgsTooLarge, tool: "echo", requestID: "2"}))

		// One byte over: a JSON-RPC error with a null id, the refusal
		// recorded...
		mark = env.mark(t)
		p.send(t, sizedCall(t, maxFrame+1, func(args string) []byte { return legacyCall(3, "echo", args) }))
		r = p.recv(t)
		want := rpcError{Code: -32600, Message: fmt.Sprintf("invalid request: message exceeds the limit of %d bytes", maxFrame)}
		if r.Error == nil || *r.Error != want || string(r.ID) != "null" {
			t.Errorf("frame of %d bytes: %+v, want id null and %+v", maxFrame+1, r, want)
		}
		env.refused(t, mark, "frame.too_large")

		// ...and the next request on the same stream is served.
		mark = env.mark(t)
		r = p.call(t, 4, legacyCall(4, "echo", `{"text":"hello after"}`))
		res = mcp.CallToolResult{}
		if r.Error != nil || json.Unmarshal(r.Result, &res) != nil || res.IsError || !jsonEqual(t, res.RawStructuredContent, []byte(`{"text":"hello after"}`)) {
			t.Errorf("tools/call after the oversize frame: %+v, want the echo", r)
		}
		checkRecord(t, env.one(t, mark), who(wantRecord{decision: audit.DecisionAllow, outcome: audit.OutcomeOK, tool: "echo", grantedBy: "analyst", requestID: "4"}))

		// Unknown and ungranted tools get one error here too.
		mark = env.mark(t)
		role := p.call(t, 5, legacyCall(5, "jq", `{"filter":".","input":1}`))
		unknown := p.call(t, 6, legacyCall(6, "nope", `{"text":"hello"}`))
		if r, u := toolNotFound(t, role, "jq"), toolNotFound(t, unknown, "nope"); r != u || r.Code != mcp.INVALID_PARAMS {
			t.Errorf("not granted: %+v; unknown: %+v; want one invalid-params error", r, u)
		}
		recs := env.since(t, mark)
		if len(recs) != 2 {
			t.Fatalf("audit log gained %d records, want 2: %+v", len(recs), recs)
		}
		checkRecord(t, recs[0], who(wantRecord{decision: audit.DecisionDeny, reason: codeDeniedRole, tool: "jq", requestID: "5"}))
		checkRecord(t, recs[1], who(wantRecord{decision: audit.DecisionDeny, reason: codeUnknownTool, tool: "nope", requestID: "6"}))
		p.close(t)
	})

	t.Run("refused key", func(t *testing.T) {
		cmd := runToolWithEnv([]string{"TOOLWARDEN_API_KEY=tw_" + analyst.id + "_" + strings.Repeat("b", 52)}, "serve", "--stdio", "--config", env.config)
		if cmd.code != 2 || !strings.Contains(cmd.stderr, "TOOLWARDEN_API_KEY: auth.invalid: credential not accepted") {
			t.Errorf("serve --stdio with a wrong key: exit %d, stderr %q; want exit 2 naming TOOLWARDEN_API_KEY", cmd.code, cmd.stderr)
		}
	})

	env.verifyAudit(t)
}
