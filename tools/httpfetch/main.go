// Command httpfetch is the toolwarden http_fetch tool: it makes one HTTP
// GET or POST request through the broker and returns the status, the final
// URL, a few response headers and the body as text, cut at 64 KiB. It is
// built for GOOS=wasip1 GOARCH=wasm; its only network path is the broker's
// toolwarden.http_request_v1 host function (tools/sdk.Fetch), under the
// call's egress grant.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

// maxBodyTextBytes caps the body returned as text.
const maxBodyTextBytes = 64 << 10

// args is the argument object.
type args struct {
	URL     *string           `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
}

// reply is the result value.
type reply struct {
	Status      int               `json:"status"`
	URL         string            `json:"url"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        string            `json:"body"`
	Bytes       int               `json:"bytes"`     // body bytes received from the broker
	Truncated   bool              `json:"truncated"` // the body was cut, here or by the broker's byte cap
}

// selectedHeaders are the response headers the reply carries.
var selectedHeaders = []string{
	"Content-Type", "Content-Length", "Content-Language", "Content-Encoding",
	"Last-Modified", "Etag", "Cache-Control", "Expires",
}

// fetcher makes a request; sdk.Fetch in the tool, a fake in tests.
type fetcher func(ctx context.Context, req sdk.HTTPRequest) (*sdk.HTTPResponse, error)

func main() {
	sdk.Run(func(ctx context.Context, raw json.RawMessage) (any, error) {
		return run(ctx, raw, sdk.Fetch)
	})
}

func run(ctx context.Context, raw json.RawMessage, fetch fetcher) (any, error) {
	var a args
	if err := sdk.Decode(raw, &a); err != nil {
		return nil, err
	}
	req, err := request(a)
	if err != nil {
		return nil, err
	}
	res, err := fetch(ctx, req)
	var ee *sdk.EgressError
	switch {
	case err == nil:
	case res != nil && errors.As(err, &ee) && ee.Code == sdk.CodeResponseTooLarge:
		// The broker's byte cap cut the body: return what arrived.
	default:
		return nil, fmt.Errorf("fetch %s: %w", req.URL, err)
	}
	return describe(res), nil
}

// request checks the arguments and builds the request.
func request(a args) (sdk.HTTPRequest, error) {
	if a.URL == nil || *a.URL == "" {
		return sdk.HTTPRequest{}, errors.New(`missing required argument "url"`)
	}
	u, err := url.Parse(*a.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sdk.HTTPRequest{}, fmt.Errorf("url %q is not an absolute http or https URL", *a.URL)
	}
	req := sdk.HTTPRequest{Method: "GET", URL: *a.URL}
	switch a.Method {
	case "", "GET":
	case "POST":
		req.Method = "POST"
	default:
		return sdk.HTTPRequest{}, fmt.Errorf("method %q is not GET or POST", a.Method)
	}
	if a.Body != nil {
		if req.Method != "POST" {
			return sdk.HTTPRequest{}, errors.New(`argument "body" needs method POST`)
		}
		req.Body = []byte(*a.Body)
	}
	if len(a.Headers) > 0 {
		req.Headers = make(map[string][]string, len(a.Headers))
		for k, v := range a.Headers {
			req.Headers[k] = []string{v}
		}
	}
	return req, nil
}

// describe turns a response into the reply: body as valid UTF-8 text, cut
// at maxBodyTextBytes on a character boundary.
func describe(res *sdk.HTTPResponse) reply {
	r := reply{
		Status:      res.Status,
		URL:         res.URL,
		ContentType: res.Header("Content-Type"),
		Bytes:       len(res.Body),
		Truncated:   res.Truncated,
	}
	for _, h := range selectedHeaders {
		if v := res.Header(h); v != "" {
			if r.Headers == nil {
				r.Headers = map[string]string{}
			}
			r.Headers[h] = v
		}
	}
	body := res.Body
	if len(body) > maxBodyTextBytes {
		cut := maxBodyTextBytes
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
		r.Truncated = true
	}
	r.Body = strings.ToValidUTF8(string(body), "\uFFFD")
	return r
}
