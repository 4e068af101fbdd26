// Package mcpserver is toolwarden's MCP front door: it serves the broker to
// MCP clients over Streamable HTTP and stdio, on top of mark3labs/mcp-go.
//
// It owns everything between the wire and [broker.Broker]: authentication of
// every HTTP request, Origin and Host checks, body and frame caps, strict
// JSON-RPC validation of each message before mcp-go sees it, binding of
// Streamable HTTP session ids to the principal they were issued to, the
// per-principal tool list, the audit metadata of each call ([broker.Meta]),
// and the mapping of reason codes to MCP replies.
//
// # Guarantees
//
//   - Every HTTP request is authenticated, whatever its method or protocol
//     era; a session id never stands in for a credential.
//   - Every request refused here (origin, host, HTTP method, body size,
//     frame, protocol version and headers, session, authentication, and the
//     errors mcp-go answers with) gets a stable reason code in its reply
//     (the JSON-RPC error's data) and is handed to the broker's Refuse, so
//     it is in the audit log: who as far as known, from where, the
//     message's digest and a bounded excerpt.
//   - A request to the MCP endpoint carrying a foreign or "null" Origin is
//     refused (403); so is any request arriving on a loopback listener whose
//     Host is not localhost, 127.0.0.1 or [::1] with the listener's port
//     (DNS rebinding).
//   - A body larger than Config.MaxBodyBytes gets 413 and a stdio frame larger
//     than Config.MaxFrameBytes a JSON-RPC error; the server keeps serving.
//   - Each message is checked once, strictly: one JSON object (no batches),
//     no duplicate keys, no keys that differ only in case (encoding/json and
//     mcp-go fold "Method" onto "method"), "jsonrpc":"2.0", an id that is a
//     string or an integer (never null), and no unknown top-level members.
//     The tool arguments the broker receives are the bytes that were checked.
//   - A legacy (2025-06-18, 2025-11-25) session id is honoured only if this
//     server issued it, to the same tenant, subject and key id, and it has
//     not been idle longer than Config.SessionIdleTimeout. Stateless
//     2026-07-28 requests carry no session and are authorised on their own.
//   - tools/list shows a caller only the tools [broker.Broker.ListTools]
//     returns for it, input schemas as given. A tools/call of a tool that
//     does not exist and of a tool the caller may not call get the same
//     JSON-RPC error. Every other refusal or failure is a tool result with
//     isError set, text "CODE: message" and the code in structuredContent
//     and _meta; internal causes never reach the client.
//
// # What it does not do
//
// It makes no policy decision: which tools a principal sees and may call,
// argument validation, limits and auditing all belong to package broker. It
// does not resolve API keys or tokens itself (package auth does) and it does
// not speak the deprecated HTTP+SSE transport. It does not use mcp-go's
// StdioServer, which keeps one process-wide session, reads lines without a
// bound and serves a whole stream with one context: ServeStdio runs its own
// capped frame loop on [server.MCPServer.HandleMessage] instead.
package mcpserver
