// Package wasm runs WebAssembly tools under wazero: it implements
// [sandbox.Runner] for WASI preview1 command modules speaking tool ABI v1
// (see package sandbox and tools/sdk). It is the only package that imports
// wazero.
//
// # What it owns
//
// One wazero runtime with the compiler engine, a compilation cache (on disk
// when [Config.CacheDir] is set), the WASI preview1 host functions and the
// toolwarden host module (below).
// [Runner.Prepare] reads a module once, checks its SHA-256 on exactly the
// bytes it compiles, compiles it once and checks it links; nothing is
// compiled on the call path.
//
// # What it guarantees
//
// Every [Program.Run] gets a fresh module instance: no state survives
// between callers. The guest gets its arguments on stdin byte for byte, no
// command-line arguments, only [sandbox.Invocation.Env] as environment, no
// files but the directories its grant mounts (read-only), no network but
// the toolwarden host module under its egress grant, real clocks, a sleep
// that cannot outlive the call and crypto/rand as randomness. Every limit
// is enforced by the host:
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
// # The toolwarden host module, ABI v1
//
// A tool's only network path is the host module "toolwarden" ([abi.HostModule]),
// which a module may import next to wasi_snapshot_preview1 (Prepare refuses
// any other import, and these with another signature):
//
//	http_request_v1(req_ptr, req_len, out_ptr, out_cap i32) -> i32
//	http_reply_v1(out_ptr, out_cap i32) -> i32
//
// The guest writes a request, the JSON of [egress.Request], at req_ptr
// (req_len bytes, at most 16 MiB) and offers a buffer of out_cap bytes at
// out_ptr. The host decodes the request strictly (exactly the members
// "method", "url", "headers", "body", case-sensitive, none twice, no
// header named twice, valid UTF-8, nothing after the object), makes it
// with the call's [egress.Client] (built from Invocation.Egress and
// [Config.Egress]; redirects are followed and checked by the host) and
// returns the length n of the reply, a JSON object:
//
//	{"response": RESPONSE, "error": {"code": "egress.denied_host", "message": "..."}}
//
// where RESPONSE is the JSON of [egress.Response] (body base64) and either
// member may be absent: a response alone on success, an error alone on a
// refusal or failure (a malformed request is egress.invalid_request), both
// when the body was cut at the call's byte cap (egress.response_too_large).
// If n <= out_cap the reply is in the buffer; otherwise the host keeps it
// and the guest calls http_reply_v1 with a buffer of at least n bytes to
// receive it (the next http_request_v1 discards a reply not taken). A
// negative result means no reply: [abi.HostFault] (a pointer and length
// outside memory), [abi.HostNoReply] (http_reply_v1 with nothing waiting),
// [abi.HostTooSmall] (a buffer smaller than the waiting reply, which
// stays). Go tools use tools/sdk.Fetch. The "_v1" suffix is the version:
// a change to these shapes gets new function names, never new meanings.
//
// # Mounts
//
// Each [sandbox.Mount] is a pre-opened directory at its guest path (fd 3,
// 4, ... in order), served read-only through an [os.Root] rather than
// wazero's directory mounts, whose documentation says ".." and relative
// symbolic links can escape them. wazero refuses an absolute path or one
// whose ".." climbs out before any file system sees it; every other path
// is resolved by os.Root at the moment of the lookup, so a symbolic link
// that leads out (absolute, relative, or planted on the host during the
// call) is refused. Regular files with more than one hard link (which may
// be links to files outside), FIFOs, devices and sockets are refused too,
// and every write, create, delete, rename, link or attribute change fails
// with EROFS. Refused paths get EPERM and are recorded.
//
// # The record of a call
//
// [sandbox.Result].Egress lists, in the order they happened, every request
// the guest made through the host module (host, port, address dialled,
// allowed or the egress.* reason, bytes each way) and every file access
// that was refused (Host [FileHost], Path as the guest named it, Reason
// one of the CodeFS codes), at most 64 of those per call. A refusal does
// not fail the call by itself: the guest sees it and decides.
//
// # What it does not do
//
// No write access to mounts, no sockets (WASI sockets are not provided),
// no DNS for the guest (the host resolves, once per hop). The compiler
// engine needs amd64 or arm64; mounts need a Unix host.
package wasm
