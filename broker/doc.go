// Package broker is the transport-free core of toolwarden: [Broker.ListTools]
// and [Broker.CallTool] run the whole pipeline of one tool call.
//
// For every call the broker, in order: finds the grants of the caller's roles
// for the tool (deny by default); decodes the arguments once, strictly
// (invalid UTF-8, duplicate or case-variant keys, nesting deeper than 64 and
// oversize objects are refused before schema validation, and numbers are
// never coerced); validates them against the effective schema of each grant
// until one admits them; checks the kill switch, the grant's rate, the
// tenant's concurrency and, for high-risk tools, approval; runs the tool in
// its sandbox with the grant's limits and the exact argument bytes it
// validated; and appends an audit record, durable before the reply leaves. A
// refusal at any stage is recorded too. If the audit log cannot be written
// the call fails with audit.unavailable: the broker fails closed.
//
// Every error returned by CallTool is a *[Error] with a stable reason code;
// its Public field is safe to show the caller and its cause goes only to the
// audit log.
//
// Package broker names no runtime and no transport: runtimes arrive as
// sandbox.Runner values, transports (broker/mcpserver, the CLI) call it.
package broker
