// Package wasm runs WebAssembly tools under wazero: it implements
// [sandbox.Runner] for WASI preview1 command modules speaking tool ABI v1
// (see package sandbox and tools/sdk). It is the only package that imports
// wazero.
//
// # What it owns
//
// One wazero runtime with the compiler engine, a compilation cache (on disk
// when [Config.CacheDir] is set) and the WASI preview1 host functions.
// [Runner.Prepare] reads a module once, checks its SHA-256 on exactly the
// bytes it compiles, compiles it once and checks it links; nothing is
// compiled on the call path.
//
// # What it guarantees
//
// Every [Program.Run] gets a fresh module instance: no state survives
// between callers. The guest gets its arguments on stdin byte for byte, no
// command-line arguments, only [sandbox.Invocation.Env] as environment, no
// filesystem, no network, real clocks, a sleep that cannot outlive the call
// and crypto/rand as randomness. Every limit is enforced by the host:
//
//   - time: the call's context carries Limits.Timeout and wazero closes the
//     instance when it is done (WithCloseOnContextDone);
//   - memory: a per-call memory allocator refuses growth past
//     Limits.MemoryBytes, so memory.grow fails inside the guest; a call that
//     then fails is reported as sandbox.memory whatever the guest printed;
//   - output: stdout is kept up to Limits.OutputBytes; the write that passes
//     it fails and cancels the call (output.too_large);
//   - stderr: kept up to Limits.MaxStderrBytes, the rest dropped.
//
// Stdout must be exactly one envelope object, {"result": V} or
// {"error": "msg"}, with no duplicate keys at any depth; anything else is
// sandbox.bad_output. Result.Output holds V's bytes as the tool wrote them.
//
// # Why a memory allocator rather than runtimes per page limit?
//
// wazero applies RuntimeConfig.WithMemoryLimitPages when it decodes a
// module, so honouring per-call limits that way needs one runtime and one
// compiled copy of each module per distinct limit, compiled lazily on the
// call path or eagerly for limits not yet known. The experimental
// MemoryAllocator hook (wazero v1.12.0) is installed per instantiation
// through the context: one runtime and one compiled module serve every
// limit, and the allocator sees the refused growth directly instead of
// inferring it from the Go runtime's "out of memory" exit. The hook is
// experimental in wazero; the tests pin its behaviour.
//
// # What it does not do
//
// No directory mounts (an Invocation with Mounts is refused) and no network
// host functions yet: Invocation.Egress grants nothing because the guest
// has no way out. The compiler engine needs amd64 or arm64.
package wasm
