package auth

// Reason codes of [Error]. They reach the client and the audit log as they
// are; the client sees only [Error.Public] beside them.
const (
	// CodeMissing: no credential was presented.
	CodeMissing = "auth.missing"
	// CodeInvalid: the credential is unknown, malformed, badly signed, signed
	// with a refused algorithm or key, from the wrong issuer, or lacks a
	// required claim. The public message does not say which.
	CodeInvalid = "auth.invalid"
	// CodeExpired: the credential has expired or is not yet valid (nbf or
	// iat in the future, beyond the allowed clock skew).
	CodeExpired = "auth.expired"
	// CodeAudience: the token was issued for another audience.
	CodeAudience = "auth.audience"
	// CodeUnavailable: the credential could not be checked because the keys
	// file or the JWKS could not be read. Nothing is accepted meanwhile
	// (fail closed); the cause goes to the log and [Error.Err].
	CodeUnavailable = "auth.unavailable"
)

// Public messages, one per code: short categories that do not tell an
// attacker which check failed.
var publicMessages = map[string]string{
	CodeMissing:     "no credential presented",
	CodeInvalid:     "credential not accepted",
	CodeExpired:     "credential expired or not yet valid",
	CodeAudience:    "token not issued for this service",
	CodeUnavailable: "authentication is unavailable, try again later",
}

// Error is a refused credential with a stable reason code.
//
// # Notes
//
// Error() returns only the code and the public message; the cause, which
// may name the failed check, is reachable through [errors.Unwrap] and is
// meant for the audit log and the operator's log, never the caller.
type Error struct {
	Code   string // stable reason code, one of the Code constants
	Public string // safe to show the caller
	Err    error  // internal cause, for the audit log only
}

// Error returns the code and the public message.
func (e *Error) Error() string { return e.Code + ": " + e.Public }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonCode returns the stable reason code.
func (e *Error) ReasonCode() string { return e.Code }

// PublicMessage returns the message that is safe to show the caller.
func (e *Error) PublicMessage() string { return e.Public }

// fail builds an [*Error] with the public message of code.
func fail(code string, cause error) *Error {
	return &Error{Code: code, Public: publicMessages[code], Err: cause}
}
