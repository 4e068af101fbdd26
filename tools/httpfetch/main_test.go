package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

func TestRun(t *testing.T) {
	ok := &sdk.HTTPResponse{Status: 200, URL: "https://a.test/x", Headers: map[string][]string{
		"Content-Type": {"text/html"}, "Etag": {`"1"`}, "Set-Cookie": {"s=1"}}, Body: []byte("<p>hi</p>")}
	for _, tc := range []struct {
		name, args string
		res        *sdk.HTTPResponse
		err        error
		wantReq    string
		want       string
		wantErr    string
	}{
		{name: "get", args: `{"url":"https://a.test/x"}`, res: ok,
			wantReq: `{"method":"GET","url":"https://a.test/x"}`,
			want:    `{"status":200,"url":"https://a.test/x","content_type":"text/html","headers":{"Content-Type":"text/html","Etag":"\"1\""},"body":"<p>hi</p>","bytes":9,"truncated":false}`},
		{name: "post", args: `{"url":"https://a.test/x","method":"POST","headers":{"X-A":"1"},"body":"q"}`, res: ok,
			wantReq: `{"method":"POST","url":"https://a.test/x","headers":{"X-A":["1"]},"body":"cQ=="}`,
			want:    `{"status":200,"url":"https://a.test/x","content_type":"text/html","headers":{"Content-Type":"text/html","Etag":"\"1\""},"body":"<p>hi</p>","bytes":9,"truncated":false}`},
		{name: "cut by the broker", args: `{"url":"https://a.test/x"}`,
			res:     &sdk.HTTPResponse{Status: 200, URL: "https://a.test/x", Body: []byte("ab"), Truncated: true},
			err:     &sdk.EgressError{Code: sdk.CodeResponseTooLarge, Message: "too large"},
			wantReq: `{"method":"GET","url":"https://a.test/x"}`,
			want:    `{"status":200,"url":"https://a.test/x","body":"ab","bytes":2,"truncated":true}`},
		{name: "refused", args: `{"url":"http://169.254.169.254/"}`,
			err:     &sdk.EgressError{Code: "egress.denied_address", Message: "address 169.254.169.254 is a link-local address, which the grant does not name"},
			wantReq: `{"method":"GET","url":"http://169.254.169.254/"}`,
			wantErr: "fetch http://169.254.169.254/: egress.denied_address: address 169.254.169.254 is a link-local address, which the grant does not name"},
		{name: "missing url", args: `{}`, wantErr: `missing required argument "url"`},
		{name: "relative url", args: `{"url":"/x"}`, wantErr: `url "/x" is not an absolute http or https URL`},
		{name: "method", args: `{"url":"https://a.test/","method":"PUT"}`, wantErr: `method "PUT" is not GET or POST`},
		{name: "case-variant key", args: `{"URL":"https://a.test/"}`, wantErr: `decode arguments: member "URL" differs from "url" only in case; names are case-sensitive at /URL (offset 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent string
			fetch := func(_ context.Context, req sdk.HTTPRequest) (*sdk.HTTPResponse, error) {
				b, _ := json.Marshal(req)
				sent = string(b)
				return tc.res, tc.err
			}
			out, err := run(context.Background(), json.RawMessage(tc.args), fetch)
			if sent != tc.wantReq {
				t.Errorf("request = %s, want %s", sent, tc.wantReq)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("run(%s) error = %v, want %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("run(%s) error = %v", tc.args, err)
			}
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false) // as sdk.Run encodes results
			if err := enc.Encode(out); err != nil || strings.TrimSpace(b.String()) != tc.want {
				t.Errorf("run(%s) = %s, want %s", tc.args, b.String(), tc.want)
			}
		})
	}
}

func TestDescribeCutsTextSafely(t *testing.T) {
	body := []byte(strings.Repeat("a", maxBodyTextBytes-1) + "é" + "tail")
	r := describe(&sdk.HTTPResponse{Status: 200, Body: body})
	if !r.Truncated || r.Bytes != len(body) || r.Body != strings.Repeat("a", maxBodyTextBytes-1) {
		t.Errorf("describe(long body) = truncated %v, bytes %d, body %d bytes; want cut before the split é", r.Truncated, r.Bytes, len(r.Body))
	}
	r = describe(&sdk.HTTPResponse{Status: 200, Body: []byte("ok\xff")})
	if r.Body != "ok\uFFFD" || r.Truncated {
		t.Errorf("describe(invalid utf-8) body = %q, want %q", r.Body, "ok\uFFFD")
	}
}
