// Package abi is the tool ABI, version 1: everything a tool and the broker
// exchange, in one place, for both sides. The broker's runtimes
// (sandbox/wasm, sandbox/plugin) read tool output and egress requests
// with it; the SDKs (tools/sdk, tools/sdk/plugin) write them with it.
//
// # A call
//
// A tool reads one JSON object, its arguments, from stdin (or, as a
// plugin, as the Invoke message) and writes exactly one JSON object, the
// envelope: {"result": VALUE} on success or {"error": "MESSAGE"} for a
// failure the tool reports, then exits 0. [ParseEnvelope] reads it
// strictly: one object, one member, no duplicate keys at any depth, valid
// UTF-8. [Result] and [Failure] write it.
//
// # The network
//
// A tool has no sockets. It asks the broker to make an HTTP request: a
// [Request] as JSON, answered by a [Reply] holding a [Response], an
// [Error], or both (a response cut at the call's byte cap, with
// egress.response_too_large). A wasm tool calls the host functions
// [HostModule].[FuncRequest] and [FuncReply]; a plugin posts the request
// to the egress proxy on the Unix socket named by its environment. The
// broker checks every request against the call's grant, resolves names
// once, refuses non-public addresses, follows redirects itself (each hop
// checked) and caps requests and bytes; every attempt is in the call's
// audit record.
//
// # Versioning
//
// [Version] is 1. A change a tool could observe (a member, a code, a host
// function's signature) gets a new version, served beside the old one.
package abi
