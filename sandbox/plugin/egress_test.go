package plugin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
)

func TestEgress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello from " + r.URL.Path))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	grant := []string{"http://" + u.Host}

	r := newRunner(t, Config{})
	prog := prepareFixture(t, r, "hostile")
	run := func(t *testing.T, target string, egress []string) (*sandbox.Result, error) {
		t.Helper()
		args := `{"attack":"egress","url":"` + target + `"}`
		return prog.Run(context.Background(), sandbox.Invocation{Args: []byte(args), Limits: testLimits, Egress: egress, Tenant: "e"})
	}

	t.Run("granted", func(t *testing.T) {
		res, err := run(t, srv.URL+"/path", grant)
		if err != nil {
			t.Fatalf("Run(egress granted) error = %v", err)
		}
		if !strings.Contains(string(res.Output), "hello from /path") {
			t.Errorf("Run(egress granted) output = %s, want the server's reply", res.Output)
		}
		if len(res.Egress) != 1 || !res.Egress[0].Allowed || res.Egress[0].Host != "127.0.0.1" {
			t.Errorf("Result.Egress = %+v, want one allowed attempt to 127.0.0.1", res.Egress)
		}
	})
	t.Run("not granted", func(t *testing.T) {
		res, err := run(t, srv.URL+"/path", nil)
		if got := reasonCode(err); got != sandbox.CodeToolError || !strings.Contains(err.Error(), "egress.") {
			t.Fatalf("Run(egress without grant) = %v (code %q), want a tool error carrying the egress code", err, got)
		}
		if len(res.Egress) != 1 || res.Egress[0].Allowed || !strings.HasPrefix(res.Egress[0].Reason, "egress.") {
			t.Errorf("Result.Egress = %+v, want one refused attempt with its reason", res.Egress)
		}
	})
	t.Run("metadata endpoint", func(t *testing.T) {
		res, err := run(t, "http://169.254.169.254/latest/meta-data/", grant)
		if reasonCode(err) != sandbox.CodeToolError {
			t.Fatalf("Run(metadata) error = %v, want a tool error", err)
		}
		if len(res.Egress) != 1 || res.Egress[0].Allowed {
			t.Errorf("Result.Egress = %+v, want one refused attempt", res.Egress)
		}
	})
}

func TestDecodeEgressRequest(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"minimal", `{"url":"https://example.com/"}`, true},
		{"full", `{"method":"POST","url":"https://example.com/","headers":{"A":["1"]},"body":"aGk="}`, true},
		{"case variant", `{"URL":"https://example.com/"}`, false},
		{"duplicate", `{"url":"https://a/","url":"https://b/"}`, false},
		{"unknown", `{"url":"https://a/","proxy":"x"}`, false},
		{"duplicate header", `{"url":"https://a/","headers":{"A":["1"],"a":["2"]}}`, false},
		{"trailing", `{"url":"https://a/"} {}`, false},
		{"not object", `["https://a/"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := abi.DecodeRequest([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Errorf("abi.DecodeRequest(%s) error = %v, want ok = %v", tt.in, err, tt.ok)
			}
		})
	}
}
