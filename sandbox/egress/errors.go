package egress

import (
	"strconv"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// Reason codes. Every error this package returns is a *[sandbox.Error]
// carrying one of them; the same code is recorded as the Reason of the
// [Attempt] it ended.
const (
	CodeDeniedHost       = abi.CodeDeniedHost       // the host is not in the allowlist
	CodeDeniedAddress    = abi.CodeDeniedAddress    // a forbidden address class the grant does not name by IP/CIDR, or an IPv6 zone
	CodeDeniedScheme     = abi.CodeDeniedScheme     // not http/https, or a scheme the host's grant does not name
	CodeDeniedPort       = abi.CodeDeniedPort       // a port the host's grant does not name
	CodeUserinfo         = abi.CodeUserinfo         // the URL carries user:password@
	CodeInvalidRequest   = abi.CodeInvalidRequest   // unparsable URL or host, bad method or header
	CodeTooManyRequests  = abi.CodeTooManyRequests  // more than Config.MaxRequests attempts in this call
	CodeRequestTooLarge  = abi.CodeRequestTooLarge  // request bytes past Config.MaxRequestBytes
	CodeResponseTooLarge = abi.CodeResponseTooLarge // response body bytes past Config.MaxResponseBytes
	CodeRedirects        = abi.CodeRedirects        // more than Config.MaxRedirects redirects
	CodeTimeout          = abi.CodeTimeout          // Config.RequestTimeout passed or the call was cancelled
	CodeDNS              = abi.CodeDNS              // the name did not resolve
	CodeConnect          = abi.CodeConnect          // no checked address accepted a connection, or the exchange failed
)

// newError returns a coded error. public is shown to the tool; cause goes
// to the audit log only.
func newError(code, public string, cause error) *sandbox.Error {
	return &sandbox.Error{Code: code, Public: public, Err: cause}
}

func limitError(code, what string, limit int64) *sandbox.Error {
	return newError(code, what+" exceed the per-call limit of "+strconv.FormatInt(limit, 10), nil)
}
