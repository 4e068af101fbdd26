package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/sandbox/abi"
)

func TestInvoke(t *testing.T) {
	echo := func(_ context.Context, raw json.RawMessage) (any, error) {
		var a struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
		if a.Text == "fail" {
			return nil, errors.New("asked to <fail>")
		}
		return map[string]string{"text": a.Text}, nil
	}
	tests := []struct {
		name, args, want string
	}{
		{"result", `{"text":"a<b"}`, `{"result":{"text":"a<b"}}`},
		{"tool error", `{"text":"fail"}`, `{"error":"asked to <fail>"}`},
		{"not an object", `[1]`, `{"error":"arguments are not a JSON object"}`},
		{"invalid JSON", `{"text":`, `{"error":"arguments are not a JSON object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Invoke(context.Background(), echo, []byte(tt.args))); got != tt.want {
				t.Errorf("Invoke(%s) = %s, want %s", tt.args, got, tt.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	got, err := (&server{}).Describe(context.Background())
	if err != nil || string(got) != `{"protocol":1,"abi":1}` {
		t.Errorf("describe() = %s, %v; want {\"protocol\":1,\"abi\":1}", got, err)
	}
}

// fakeProxy serves the egress proxy protocol on a Unix socket.
func fakeProxy(t *testing.T, reply func(req abi.Request) abi.Reply) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "egress.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/request" {
			http.Error(w, "bad path", http.StatusNotFound)
			return
		}
		var req abi.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(reply(req))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestHTTPClient(t *testing.T) {
	sock := fakeProxy(t, func(req abi.Request) abi.Reply {
		switch {
		case strings.Contains(req.URL, "denied"):
			r := abi.Reply{}
			r.Error = &abi.Error{Code: "egress.denied_host", Message: "not in the grant"}
			return r
		case strings.Contains(req.URL, "big"):
			r := abi.Reply{Response: &abi.Response{Status: 200, Body: []byte("part"), Truncated: true}}
			r.Error = &abi.Error{Code: "egress.response_too_large", Message: "cut"}
			return r
		}
		return abi.Reply{Response: &abi.Response{Status: 201, URL: req.URL,
			Headers: map[string][]string{"X-Method": {req.Method}}, Body: append([]byte("got "), req.Body...)}}
	})
	t.Setenv(EgressSocketEnv, sock)
	c := HTTPClient()

	res, err := c.Post("https://api.example.com/x", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatalf("Post error = %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 || string(body) != "got ping" || res.Header.Get("X-Method") != "POST" {
		t.Errorf("Post = %d %q %v, want 201 \"got ping\" with X-Method POST", res.StatusCode, body, res.Header)
	}

	_, err = c.Get("https://denied.example.com/")
	var ee *EgressError
	if !errors.As(err, &ee) || ee.Code != "egress.denied_host" {
		t.Errorf("Get(denied) error = %v, want an *EgressError with code egress.denied_host", err)
	}

	res, err = c.Get("https://big.example.com/")
	if err != nil {
		t.Fatalf("Get(big) error = %v", err)
	}
	body, err = io.ReadAll(res.Body)
	if string(body) != "part" || !errors.As(err, &ee) || ee.Code != "egress.response_too_large" {
		t.Errorf("Get(big) body = %q, read error %v; want \"part\" then egress.response_too_large", body, err)
	}
}

func TestHTTPClientWithoutProxy(t *testing.T) {
	t.Setenv(EgressSocketEnv, "")
	_, err := HTTPClient().Get("https://example.com/")
	var ee *EgressError
	if !errors.As(err, &ee) || ee.Code != "sandbox.egress_denied" {
		t.Errorf("Get without a proxy: error = %v, want code sandbox.egress_denied", err)
	}
}
