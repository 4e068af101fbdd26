package egress

import (
	"strconv"

	"github.com/toolwarden/toolwarden/sandbox"
)

// Reason codes. Every error this package returns is a *[sandbox.Error]
// carrying one of them; the same code is recorded as the Reason of the
// [Attempt] it ended.
const (
	CodeDeniedHost       = "egress.denied_host"        // the host is not in the allowlist
	CodeDeniedAddress    = "egress.denied_address"     // a forbidden address class the grant does not name by IP/CIDR, or an IPv6 zone
	CodeDeniedScheme     = "egress.denied_scheme"      // not http/https, or a scheme the host's grant does not name
	CodeDeniedPort       = "egress.denied_port"        // a port the host's grant does not name
	CodeUserinfo         = "egress.userinfo"           // the URL carries user:password@
	CodeInvalidRequest   = "egress.invalid_request"    // unparsable URL or host, bad method or header
	CodeTooManyRequests  = "egress.too_many_requests"  // more than Config.MaxRequests attempts in this call
	CodeRequestTooLarge  = "egress.request_too_large"  // request bytes past Config.MaxRequestBytes
	CodeResponseTooLarge = "egress.response_too_large" // response body bytes past Config.MaxResponseBytes
	CodeRedirects        = "egress.redirects"          // more than Config.MaxRedirects redirects
	CodeTimeout          = "egress.timeout"            // Config.RequestTimeout passed or the call was cancelled
	CodeDNS              = "egress.dns"                // the name did not resolve
	CodeConnect          = "egress.connect"            // no checked address accepted a connection, or the exchange failed
)

// newError returns a coded error. public is shown to the tool; cause goes
// to the audit log only.
func newError(code, public string, cause error) *sandbox.Error {
	return &sandbox.Error{Code: code, Public: public, Err: cause}
}

func limitError(code, what string, limit int64) *sandbox.Error {
	return newError(code, what+" exceed the per-call limit of "+strconv.FormatInt(limit, 10), nil)
}
