package broker

import (
	"errors"
	"strings"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/policy"
)

// Reason codes of the broker's stages. Those another package owns are
// that package's constants under the broker's names; runtimes add their
// own (sandbox.timeout, output.too_large, tool.error, ...). Every code
// reaches the client through broker/mcpserver and the audit log
// unchanged; mcpserver.Reasons is the table of them all.
const (
	CodeUnknownTool      = policy.CodeUnknownTool  // no such tool (clients see the same reply as denied.role)
	CodeDeniedRole       = policy.CodeDeniedRole   // no role of the caller grants the tool
	CodeDeniedArgs       = policy.CodeDeniedArgs   // arguments outside the role's constraints
	CodeInvalidArgs      = policy.CodeInvalidArgs  // arguments malformed or against the tool's schema
	CodeArgsTooLarge     = policy.CodeArgsTooLarge // arguments larger than the policy's cap
	CodeAuditUnavailable = audit.CodeUnavailable   // the audit log cannot be written: fail closed
	CodeUnauthenticated  = auth.CodeInvalid        // recorded for calls refused before a principal existed

	CodeRateLimited      = "limit.rate"         // the grant's rate was exhausted
	CodeConcurrency      = "limit.concurrency"  // too many calls in flight for the tenant
	CodeKillSwitch       = "denied.kill_switch" // the tool or tenant is switched off
	CodeApprovalRequired = "denied.approval"    // a high-risk tool needs an approval
	CodeInternal         = "internal"           // anything without a code
	CodeContained        = "sandbox.contained"  // the sandbox refused an access during the call; its result stands, flagged
)

// Error is a refusal or failure with a stable reason code.
type Error struct {
	Code   string // stable reason code
	Public string // safe to show the caller
	Err    error  // internal cause, written to the audit log only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Public + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Public
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonCode returns the stable reason code.
func (e *Error) ReasonCode() string { return e.Code }

// PublicMessage returns the message that is safe to show the caller.
func (e *Error) PublicMessage() string { return e.Public }

// detail renders err and every cause beneath it for the audit log. Some
// coded errors (auth's) keep their cause out of Error() so it can never reach
// a caller; the audit log is where that cause belongs.
func detail(err error) string {
	msg := err.Error()
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if m := e.Error(); !strings.Contains(msg, m) {
			msg += ": " + m
		}
	}
	return msg
}
