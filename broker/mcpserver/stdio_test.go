package mcpserver

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// stdioPipe runs ServeStdio as p and returns the client's ends: write
// requests to in, read replies from out. Closing in ends the server; the
// returned func waits for ServeStdio and reports its error.
func stdioPipe(t *testing.T, s *Server, p auth.Principal) (in io.WriteCloser, out io.Reader, wait func() error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.ServeStdio(context.Background(), inR, outW, p)
		outW.Close()
		done <- err
	}()
	var result error
	var waited bool
	wait = func() error {
		if !waited {
			result, waited = <-done, true
		}
		return result
	}
	t.Cleanup(func() {
		inW.Close()
		go io.Copy(io.Discard, outR)
		if err := wait(); err != nil {
			t.Errorf("ServeStdio: %v", err)
		}
	})
	return inW, outR, wait
}

func TestStdioClient(t *testing.T) {
	for _, v := range []string{"", mcp.ProtocolVersion20251125} {
		t.Run(versionName(v), func(t *testing.T) {
			s, core, _ := newTestServer(t, nil)
			in, out, wait := stdioPipe(t, s, bob)
			c := client.NewClient(transport.NewIO(out, in, nil), clientOpts(v)...)
			ctx := context.Background()
			if err := c.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = v
			init.Params.ClientInfo = mcp.Implementation{Name: "stdio-client", Version: "0.9"}
			if _, err := c.Initialize(ctx, init); err != nil {
				t.Fatalf("Initialize: %v", err)
			}

			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			if got, want := toolNames(tools.Tools), []string{"echo", "fail"}; !slices.Equal(got, want) {
				t.Errorf("ListTools = %v, want %v", got, want)
			}

			res, err := c.CallTool(ctx, callRequest("echo", map[string]any{"message": "over stdio"}))
			if err != nil || res.IsError {
				t.Fatalf("CallTool(echo) = %+v, %v", res, err)
			}
			m := core.lastCall(t).Meta
			if m.Transport != TransportStdio || !strings.HasPrefix(m.Session, "stdio-") || m.ClientName != "stdio-client" ||
				m.ClientVersion != "0.9" || m.Model != "test-model-1" || m.RequestID == "" || m.Protocol == "" {
				t.Errorf("stdio Meta = %+v", m)
			}
			if p := core.lastCall(t).Principal; p.Subject != "bob" {
				t.Errorf("stdio principal = %+v, want bob", p)
			}

			_, deniedErr := c.CallTool(ctx, callRequest("secret", nil))
			_, unknownErr := c.CallTool(ctx, callRequest("nothing", nil))
			if deniedErr == nil || unknownErr == nil {
				t.Fatalf("denied/unknown calls succeeded: %v / %v", deniedErr, unknownErr)
			}
			if d, u := strings.ReplaceAll(deniedErr.Error(), "secret", "NAME"), strings.ReplaceAll(unknownErr.Error(), "nothing", "NAME"); d != u {
				t.Errorf("denied and unknown differ over stdio:\n%s\n%s", d, u)
			}

			res, err = c.CallTool(ctx, callRequest("fail", nil))
			if err != nil || !res.IsError || res.Content[0].(mcp.TextContent).Text != "invalid.arguments: message is required" {
				t.Errorf("CallTool(fail) = %+v, %v", res, err)
			}

			if err := c.Close(); err != nil {
				t.Logf("client Close: %v", err)
			}
			if err := wait(); err != nil {
				t.Errorf("ServeStdio after the client closed = %v, want nil", err)
			}
		})
	}
}

func clientOpts(version string) []client.ClientOption {
	if version == "" {
		return nil
	}
	return []client.ClientOption{client.WithProtocolVersion(version)}
}

func TestStdioRefusedFramesKeepServing(t *testing.T) {
	s, core, _ := newTestServer(t, func(c *Config) { c.MaxFrameBytes = 1024 })
	in, out, _ := stdioPipe(t, s, alice)
	replies := bufio.NewScanner(out)
	replies.Buffer(make([]byte, 64<<10), 64<<10)
	next := func() rpcReply {
		t.Helper()
		if !replies.Scan() {
			t.Fatalf("no reply: %v", replies.Err())
		}
		return decodeReply(t, replies.Bytes())
	}
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(in, line+"\n"); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	probe := string(modernBody("probe", "tools/list", nil))

	tests := []struct {
		name     string
		line     string
		wantCode int
		wantID   string
		wantText string
	}{
		{"oversize", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 4000) + `"}}`, codeInvalidRequest, "null", "exceeds the limit of 1024 bytes"},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`, codeInvalidRequest, "null", "batch"},
		{"duplicate key", `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}`, codeInvalidRequest, "null", ""},
		{"Method case variant", `{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`, codeInvalidRequest, "null", ""},
		{"lone Method", `{"jsonrpc":"2.0","id":"m","Method":"tools/call"}`, codeInvalidRequest, `"m"`, `member "Method" differs from "method" only in case`},
		{"id null", `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"echo"}}`, codeInvalidRequest, "null", "must not be null"},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}`, codeInvalidRequest, "null", "integer"},
		{"not JSON", `{"jsonrpc":"2.0",`, codeParseError, "null", ""},
		{"wrong version", `{"jsonrpc":"1.0","id":7,"method":"tools/list"}`, codeInvalidRequest, "7", `"jsonrpc" must be "2.0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := core.callCount()
			send(tc.line)
			r := next()
			if r.Error == nil || r.Error.Code != tc.wantCode || string(r.ID) != tc.wantID {
				t.Fatalf("reply = %+v (id %s), want error %d with id %s", r.Error, r.ID, tc.wantCode, tc.wantID)
			}
			if !strings.Contains(r.Error.Message, tc.wantText) {
				t.Errorf("message %q does not contain %q", r.Error.Message, tc.wantText)
			}
			if core.callCount() != before {
				t.Errorf("a refused frame reached the broker")
			}
			send(probe)
			if r := next(); r.Error != nil || string(r.ID) != `"probe"` {
				t.Fatalf("next request after a refused frame: %+v id %s", r.Error, r.ID)
			}
		})
	}
}
