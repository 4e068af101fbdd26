package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// HTTPRequest is a request a tool asks the broker to make: the request
// half of the egress ABI v1 (see package sandbox/egress). The broker checks
// it against the call's egress grant, makes it, and follows redirects
// itself, each hop checked.
type HTTPRequest struct {
	// Method is GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS; "" means
	// GET.
	Method string `json:"method,omitempty"`
	// URL is an absolute http or https URL.
	URL string `json:"url"`
	// Headers are sent as given. Framing, hop-by-hop and proxy headers
	// (Host, Content-Length, Connection, ...) are refused.
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the request body.
	Body []byte `json:"body,omitempty"`
}

// HTTPResponse is the broker's reply to an [HTTPRequest], after redirects:
// the response half of the egress ABI v1.
type HTTPResponse struct {
	// Status is the HTTP status code of the final response.
	Status int `json:"status"`
	// URL is the normalised URL of the final response.
	URL string `json:"url"`
	// Headers are the final response's headers, names in canonical form
	// ("Content-Type").
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the response body, cut at the call's response byte cap.
	Body []byte `json:"body,omitempty"`
	// Truncated reports that Body was cut.
	Truncated bool `json:"truncated,omitempty"`
}

// Header returns the first value of the response header name, matched
// case-insensitively, or "".
func (r *HTTPResponse) Header(name string) string {
	if vs, ok := r.Headers[name]; ok && len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range r.Headers {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// EgressError is a request the broker refused or could not complete. Code
// is the broker's reason code, e.g. "egress.denied_host" or
// "egress.response_too_large"; the same code is in the call's audit record.
type EgressError struct {
	Code    string
	Message string
}

func (e *EgressError) Error() string { return e.Code + ": " + e.Message }

// Reason codes a tool may want to tell apart (the full list is in package
// sandbox/egress).
const (
	CodeResponseTooLarge = "egress.response_too_large"
	CodeEgressDenied     = "sandbox.egress_denied"
)

// hostReply is the reply of toolwarden.http_request_v1.
type hostReply struct {
	Response *HTTPResponse `json:"response"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// testRoundTrip, when set by a test, replaces the host function. It is nil
// otherwise, so a tool that never calls Fetch links none of it.
var testRoundTrip func(req []byte) ([]byte, error)

// roundTrip hands an encoded request to the host and returns its encoded
// reply: the host function under GOOS=wasip1, a refusal elsewhere.
func roundTrip(req []byte) ([]byte, error) {
	if testRoundTrip != nil {
		return testRoundTrip(req)
	}
	return hostRoundTrip(req)
}

// Fetch asks the broker to make req, under the call's egress grant and
// caps, and returns the final response. This is a tool's only way to the
// network: it goes through the host function toolwarden.http_request_v1
// (see package sandbox/wasm), so it works in a tool built with
// GOOS=wasip1; elsewhere it fails with an [*EgressError] whose Code is
// [CodeEgressDenied].
//
// A request the broker refuses (a host, address, port or scheme outside
// the grant, too many requests, a timeout, ...) fails with an
// [*EgressError]. When the broker cut the body at the call's byte cap,
// Fetch returns the truncated response (Truncated set) together with an
// [*EgressError] whose Code is [CodeResponseTooLarge].
//
// # Notes
//
// The host call blocks until the broker has the reply; ctx is checked
// before it starts (the broker bounds the request's time itself).
func Fetch(ctx context.Context, req HTTPRequest) (*HTTPResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	out, err := roundTrip(data)
	if err != nil {
		return nil, err
	}
	var rep hostReply
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("decode the broker's reply: %w", err)
	}
	var eerr error
	if rep.Error != nil {
		eerr = &EgressError{Code: rep.Error.Code, Message: rep.Error.Message}
	}
	if rep.Response == nil {
		if eerr == nil {
			eerr = errors.New("the broker's reply has neither a response nor an error")
		}
		return nil, eerr
	}
	return rep.Response, eerr
}
