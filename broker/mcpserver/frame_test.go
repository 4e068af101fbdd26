package mcpserver

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestParseFrameAccepts(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		kind     frameKind
		method   string
		idText   string
		tool     string
		args     string
		model    string
		protocol string
		client   string
	}{
		{
			name: "tools/call keeps argument bytes",
			in:   `{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"echo","arguments":{"b": 2, "a":[1, 2.50]},"_meta":{"toolwarden.dev/model":"m-1","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c","version":"2"}}}}`,
			kind: kindRequest, method: "tools/call", idText: "a-1", tool: "echo", args: `{"b": 2, "a":[1, 2.50]}`,
			model: "m-1", protocol: "2026-07-28", client: "c 2",
		},
		{name: "integer id", in: ` {"jsonrpc":"2.0","id":-42,"method":"tools/list"} `, kind: kindRequest, method: "tools/list", idText: "-42"},
		{name: "notification", in: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, kind: kindNotification, method: "notifications/initialized"},
		{name: "response", in: `{"jsonrpc":"2.0","id":3,"result":{}}`, kind: kindResponse, idText: "3"},
		{name: "plain model key", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"model":"m-2"}}}`, kind: kindRequest, method: "tools/call", idText: "1", tool: "x", model: "m-2"},
		{name: "duplicate arguments are the broker's to refuse (invalid.arguments)", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"u":1,"u":2,"U":3}}}`, kind: kindRequest, method: "tools/call", idText: "1", tool: "x", args: `{"u":1,"u":2,"U":3}`},
		{name: "case variants inside arguments are the tool's business", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"Name":"y"}}}`, kind: kindRequest, method: "tools/call", idText: "1", tool: "x", args: `{"Name":"y"}`},
		{name: "initialize", in: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"ts","version":"1.0"}}}`, kind: kindRequest, method: "initialize", idText: "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ferr := parseFrame([]byte(tc.in), 1<<20)
			if ferr != nil {
				t.Fatalf("parseFrame: %v", ferr)
			}
			if f.kind != tc.kind || f.method != tc.method || f.idText != tc.idText || f.toolName != tc.tool || string(f.args) != tc.args {
				t.Errorf("frame = kind %d method %q id %q tool %q args %s", f.kind, f.method, f.idText, f.toolName, f.args)
			}
			if f.model != tc.model || f.metaProtocol != tc.protocol {
				t.Errorf("meta = model %q protocol %q", f.model, f.metaProtocol)
			}
			if tc.client != "" && f.metaClientName+" "+f.metaClientVersion != tc.client {
				t.Errorf("client = %q %q, want %s", f.metaClientName, f.metaClientVersion, tc.client)
			}
		})
	}
}

func TestParseFrameRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code int
	}{
		{"empty", ``, codeInvalidRequest},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, codeInvalidRequest},
		{"scalar", `"ping"`, codeInvalidRequest},
		{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"ping"} {}`, codeParseError},
		{"duplicate method", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`, codeInvalidRequest},
		{"case variant method", `{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call"}`, codeInvalidRequest},
		{"long s folding", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","ta\u017fk":{}}}`, codeInvalidRequest},
		{"upper-case arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","ARGUMENTS":{}}}`, codeInvalidRequest},
		{"upper-case _meta", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_META":{}}}`, codeInvalidRequest},
		{"kelvin folding", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","tas\u212a":{}}}`, codeInvalidRequest},
		{"duplicate nested _meta", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"model":"x","model":"y"}}}`, codeInvalidRequest},
		{"id null", `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"a"}}`, codeInvalidRequest},
		{"id object", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, codeInvalidRequest},
		{"id bool", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, codeInvalidRequest},
		{"id exponent", `{"jsonrpc":"2.0","id":1e3,"method":"ping"}`, codeInvalidRequest},
		{"id too long", `{"jsonrpc":"2.0","id":1234567890123456,"method":"ping"}`, codeInvalidRequest},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, codeInvalidRequest},
		{"jsonrpc number", `{"jsonrpc":2.0,"id":1,"method":"ping"}`, codeInvalidRequest},
		{"unknown member", `{"jsonrpc":"2.0","id":1,"method":"ping","x":1}`, codeInvalidRequest},
		{"method and result", `{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`, codeInvalidRequest},
		{"response without id", `{"jsonrpc":"2.0","result":{}}`, codeInvalidRequest},
		{"response with both", `{"jsonrpc":"2.0","id":1,"result":{},"error":{}}`, codeInvalidRequest},
		{"request without id", `{"jsonrpc":"2.0","method":"tools/list"}`, codeInvalidRequest},
		{"params array", `{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}`, codeInvalidRequest},
		{"call without name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}`, codeInvalidRequest},
		{"call without params", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`, codeInvalidRequest},
		{"name not string", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}`, codeInvalidRequest},
		{"empty method", `{"jsonrpc":"2.0","id":1,"method":""}`, codeInvalidRequest},
		{"duplicate arguments of another method", `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"a","arguments":{"u":1,"u":2}}}`, codeInvalidRequest},
		{"invalid UTF-8 is not JSON", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}", codeParseError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ferr := parseFrame([]byte(tc.in), 1<<20)
			if ferr == nil {
				t.Fatalf("parseFrame(%s) = %+v, want refusal", tc.in, f)
			}
			if ferr.code != tc.code {
				t.Errorf("parseFrame(%s) code = %d (%s), want %d", tc.in, ferr.code, ferr.message, tc.code)
			}
		})
	}
}

func TestParseFrameLimit(t *testing.T) {
	in := []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if _, ferr := parseFrame(in, int64(len(in))); ferr != nil {
		t.Fatalf("frame at the limit refused: %v", ferr)
	}
	if _, ferr := parseFrame(in, int64(len(in))-1); ferr == nil {
		t.Fatalf("frame over the limit accepted")
	}
}

// FuzzFrame checks that parseFrame never panics, that an accepted frame is
// one JSON object with "jsonrpc":"2.0", and that re-encoding it gives a
// frame read the same way.
func FuzzFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, ferr := parseFrame(data, 1<<16)
		if ferr != nil {
			if fr != nil || ferr.message == "" || ferr.code == 0 || ferr.reason == "" {
				t.Fatalf("refusal %+v with frame %+v", ferr, fr)
			}
			reply := ferr.reply()
			if !json.Valid(reply) {
				t.Fatalf("error reply is not JSON: %s", reply)
			}
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			t.Fatalf("accepted frame is not a JSON object: %v", err)
		}
		if string(bytes.TrimSpace(top["jsonrpc"])) != `"2.0"` {
			t.Fatalf("accepted frame has jsonrpc %s", top["jsonrpc"])
		}
		if fr.kind != kindNotification && fr.id == nil {
			t.Fatalf("accepted %d frame without id", fr.kind)
		}
		again, err := json.Marshal(top)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		fr2, ferr := parseFrame(again, 1<<17)
		if ferr != nil {
			t.Fatalf("re-encoded frame refused: %v\n%s", ferr, again)
		}
		if fr2.kind != fr.kind || fr2.method != fr.method || fr2.idText != fr.idText || fr2.toolName != fr.toolName ||
			fr2.model != fr.model || fr2.metaProtocol != fr.metaProtocol {
			t.Fatalf("re-encoded frame reads differently:\n%+v\n%+v", fr, fr2)
		}
		if (fr.args == nil) != (fr2.args == nil) {
			t.Fatalf("arguments lost in re-encoding")
		}
	})
}
