package mcpserver

import (
	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/screen"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// Reason is one stable reason code and what it means.
type Reason struct {
	Code    string
	Meaning string
}

// Reasons is the one table of every reason code a client or the audit log
// can see, whatever package declares it, in the order README lists them.
// A client gets the code in a refused tool call's result (structured
// content and _meta) or in a JSON-RPC error's data ({"reason": CODE}); the
// audit record carries the same code. The codes of single network or file
// attempts (egress.*, fs.*) appear in the egress entries of a call's
// record and, for a tool, in the ABI's error replies.
//
// # Notes
//
// Tests hold the table to the code: every Code constant of the module is
// in it, each gets the reply [replyFor] gives it, and README's table lists
// each one.
var Reasons = []Reason{
	// Frames and protocol, refused before the broker.
	{CodeFrameParse, "the message is not JSON: syntax, invalid UTF-8, or data after it"},
	{CodeFrameTooLarge, "the message or HTTP body is larger than its cap"},
	{CodeFrameTooDeep, "the message nests deeper than the frame limit"},
	{CodeFrameBatch, "a JSON-RPC batch: one message at a time"},
	{CodeFrameAmbiguous, "duplicate or case-variant keys, or a key folding onto a known member (\"Method\", \"nam\u017fe\")"},
	{CodeFrameInvalid, "JSON, but not one well-formed JSON-RPC 2.0 message"},
	{CodeProtocolOrigin, "a browser Origin that is not allowed, or \"null\" (HTTP 403)"},
	{CodeProtocolHost, "a Host header a loopback listener does not answer to: DNS rebinding (HTTP 403)"},
	{CodeProtocolMethod, "an HTTP method the endpoint does not serve (HTTP 405)"},
	{CodeProtocolPath, "a path the server does not serve (HTTP 404)"},
	{CodeBadRequest, "a request net/http refused before any handler ran: malformed request line or header, head too large, transfer coding not implemented (its own 4xx/5xx, recorded)"},
	{CodeAmbiguousFraming, "a request stating its length twice (Content-Length and Transfer-Encoding): request smuggling (HTTP 400, connection closed)"},
	{CodeProtocolContentType, "an HTTP POST whose body is not application/json"},
	{CodeProtocolVersion, "an unsupported protocol version, or the header and the message disagreeing on it"},
	{CodeProtocolHeaders, "Mcp-Method or Mcp-Name not naming what the message names"},
	{CodeMethodNotFound, "a JSON-RPC method the server does not serve"},
	{CodeInvalidParams, "params the method cannot use"},
	{CodeProtocolError, "any other JSON-RPC error of the protocol layer"},
	{CodeSessionRequired, "a legacy-protocol request without Mcp-Session-Id"},
	{CodeSessionUnknown, "a session never issued, ended, or expired"},
	{CodeSessionForeign, "a session issued to another principal"},
	{CodeSessionLimit, "the principal holds as many sessions as allowed"},
	{CodeStreamLimit, "the principal has as many HTTP requests in flight or GET streams open as allowed (HTTP 429)"},

	// Authentication.
	{auth.CodeMissing, "no credential presented (HTTP 401)"},
	{auth.CodeInvalid, "the credential is not accepted (HTTP 401)"},
	{auth.CodeExpired, "the credential expired or is not yet valid (HTTP 401)"},
	{auth.CodeAudience, "the token was not issued for this service (HTTP 401)"},
	{auth.CodeUnavailable, "authentication itself is unavailable, e.g. the JWKS cannot be fetched (HTTP 503)"},

	// Policy and admission.
	{broker.CodeUnknownTool, "no such tool (clients get the same not-found reply as for denied.role)"},
	{broker.CodeDeniedRole, "no role of the caller grants the tool"},
	{broker.CodeInvalidArgs, "arguments malformed, ambiguous (duplicate or case-variant keys) or against the tool's schema"},
	{broker.CodeArgsTooLarge, "arguments larger than maxArgumentBytes"},
	{broker.CodeDeniedArgs, "arguments the tool accepts but outside the role's constraints"},
	{broker.CodeKillSwitch, "the tool or the tenant is switched off"},
	{broker.CodeApprovalRequired, "a high-risk tool needs an approval"},
	{broker.CodeRateLimited, "the grant's rate was reached"},
	{broker.CodeConcurrency, "the tenant has as many calls in flight as allowed"},

	// The run.
	{sandbox.CodeTimeout, "the tool ran out of time"},
	{sandbox.CodeMemory, "the tool needed more memory than its limit"},
	{sandbox.CodeTrap, "the tool trapped (wasm) or crashed (plugin)"},
	{sandbox.CodeExit, "the tool exited with a non-zero status"},
	{sandbox.CodeCrashed, "the tool's process died during the call (plugin)"},
	{sandbox.CodeBadOutput, "the tool wrote no valid result envelope"},
	{sandbox.CodeEgressDenied, "a network or file access outside the grant"},
	{sandbox.CodeDigestMismatch, "the tool's artifact no longer matches its pin"},
	{sandbox.CodeLoad, "the tool's artifact could not be read or compiled"},
	{sandbox.CodeClosed, "the runtime was closed"},
	{sandbox.CodeOutputTooLarge, "the tool wrote past its output cap and was stopped"},
	{sandbox.CodeToolError, "the tool reported an error (its message is shown)"},
	{broker.CodeContained, "the sandbox refused a network or file access during the call; the result stands, marked and flagged"},

	// Output screening.
	{screen.CodeRedacted, "secrets (injected into the tool, or shaped like one) were cut from the result"},
	{screen.CodeFlagged, "the result looks like a prompt injection: returned, annotated and flagged"},
	{screen.CodeBlocked, "the result looks like a prompt injection and the role blocks such results"},

	// Single network and file attempts.
	{abi.CodeDeniedHost, "the host is not in the grant's egress list"},
	{abi.CodeDeniedAddress, "a loopback, private, link-local or other non-public address the grant does not name by IP"},
	{abi.CodeDeniedScheme, "not http or https, or a scheme the host's grant does not name"},
	{abi.CodeDeniedPort, "a port the host's grant does not name"},
	{abi.CodeUserinfo, "the URL carries user:password@"},
	{abi.CodeInvalidRequest, "an unparsable URL or host, or a bad method or header"},
	{abi.CodeTooManyRequests, "more requests in the call than its cap"},
	{abi.CodeRequestTooLarge, "request bytes past the call's cap"},
	{abi.CodeResponseTooLarge, "response bytes past the call's cap: the body is cut"},
	{abi.CodeRedirects, "more redirects than allowed"},
	{abi.CodeTimeout, "the request ran out of time"},
	{abi.CodeDNS, "the name did not resolve"},
	{abi.CodeConnect, "no checked address accepted a connection, or the exchange failed"},
	{abi.CodeFSEscape, "a path outside the mount (.., an absolute path, a symbolic link leading out)"},
	{abi.CodeFSHardLink, "a file with several hard links"},
	{abi.CodeFSSpecial, "a FIFO, device or socket"},
	{abi.CodeFSReadOnly, "a write to a read-only mount"},
	{abi.CodeFSRefusalsDropped, "more refused paths than a record keeps"},

	// The broker itself.
	{broker.CodeAuditUnavailable, "the audit log cannot be written: the call is refused (fail closed)"},
	{audit.CodeInvalidRecord, "a record the log cannot encode (larger than a line may be); nothing was written"},
	{broker.CodeInternal, "anything without a code; the cause is in the audit log only"},
}
