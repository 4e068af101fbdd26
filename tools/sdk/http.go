package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// HTTPRequest is a request a tool asks the broker to make: the request
// half of the egress ABI v1 (see package sandbox/abi). The broker checks
// it against the call's egress grant, makes it, and follows redirects
// itself, each hop checked.
type HTTPRequest = abi.Request

// HTTPResponse is the broker's reply to an [HTTPRequest], after redirects:
// the response half of the egress ABI v1.
type HTTPResponse = abi.Response

// EgressError is a request the broker refused or could not complete. Code
// is the broker's reason code, e.g. "egress.denied_host" or
// "egress.response_too_large"; the same code is in the call's audit record.
type EgressError = abi.Error

// Reason codes a tool may want to tell apart (the full list is in package
// sandbox/egress).
const (
	CodeResponseTooLarge = abi.CodeResponseTooLarge
	CodeEgressDenied     = abi.CodeEgressDenied
)

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
	rep, err := abi.DecodeReply(out)
	if err != nil {
		return nil, err
	}
	if rep.Error != nil {
		return rep.Response, rep.Error
	}
	return rep.Response, nil
}
