// Package wire is the plugin protocol, version 1, both ends of it: the
// go-plugin handshake and plugin set, the gRPC service
// toolwarden.plugin.v1.Tool with its two methods, and the codec that
// carries each message as the bytes of one JSON value. The broker
// (sandbox/plugin) dials it as a [Client]; a tool (tools/sdk/plugin) serves
// it through [ServerPlugin]. One copy, so the two cannot drift.
//
// # The service
//
//   - Describe({}) returns a [Description]: the protocol and tool ABI
//     versions the plugin speaks.
//   - Invoke(ARGS) runs one call: ARGS is the argument object, exactly the
//     bytes the broker validated; the reply is the tool ABI v1 envelope
//     (see package sandbox/abi).
//
// # What it does not do
//
// The magic cookie of [Handshake] is not authentication: the broker trusts
// a plugin because it launched verified bytes itself (sandbox/confine).
// The package does not start, confine or pool processes.
package wire
