// Package sandbox defines the contract between the broker and the runtimes that
// execute tools: [Runner], [Program], [Invocation], [Limits], [Result] and the
// coded [Error] every runtime returns.
//
// The package guarantees nothing by itself; it names what each runtime must
// guarantee. A [Program] runs every [Invocation] in a fresh, isolated instance:
// no state survives between callers, the argument bytes reach the tool exactly
// as the broker validated them, and every limit in [Limits] is enforced by the
// runtime, not by the tool.
//
// Package sandbox imports only the standard library, so the broker can depend
// on it without naming a runtime. Implementations live in sandbox/wasm and
// sandbox/plugin; sandbox/sandboxtest holds a fake runner and the conformance
// checks every runtime must pass.
package sandbox
