// Package plugin runs tools that need a native runtime as hashicorp/go-plugin
// processes, each contained as a container runtime would contain it, with no
// container daemon. It implements [sandbox.Runner] (kind "plugin") and is the
// only package of the broker that imports go-plugin.
//
// # What it owns
//
//   - The plugin protocol, version 1: a go-plugin gRPC service
//     toolwarden.plugin.v1.Tool with Describe and Invoke, whose messages are
//     JSON values carried as bytes by a codec registered under the content
//     subtype "toolwarden-json". Invoke takes the argument object and
//     returns the tool ABI v1 envelope ({"result": V} or {"error": MSG}).
//     tools/sdk/plugin is the plugin side.
//   - The isolated launch (sandbox/confine), through go-plugin's
//     RunnerFunc: the broker re-executes itself ([MaybeLaunch]) in new
//     network (loopback only), mount, PID, IPC, UTS and cgroup namespaces;
//     the launcher pivots into a minimal read-only root (system libraries,
//     four device nodes, the socket directory, the call's read-only mounts,
//     a private tmpfs /tmp), drops to a per-process unprivileged uid, sets
//     no_new_privs, applies landlock and a seccomp filter (no ptrace, mount,
//     namespaces, modules, kexec, bpf, perf, keyctl, userfaultfd, io_uring,
//     fork: a plugin is one process) and rlimits, then execs the plugin.
//   - The binary pin: Prepare copies the binary into a sealed memfd while
//     hashing those exact bytes; every process execs that memfd with
//     execveat(AT_EMPTY_PATH), so nothing can be swapped in between check
//     and exec. A start after the file changed on disk is refused
//     (sandbox.digest_mismatch).
//   - The egress proxy: an HTTP server on a Unix socket in the plugin's
//     socket directory, speaking the egress ABI v1 JSON ([egress.Request],
//     [egress.Response]) and backed by one [egress.Client] per call, so a
//     plugin's network grant, caps and audited attempts are exactly a wasm
//     tool's. It is the plugin's only way out.
//   - The pool: warm processes per (tool, tenant, environment, mounts,
//     memory limit), MinProcs to MaxProcs, health-checked, replaced after a
//     crash, a limit hit, idle CPU use or MaxCallsPerProc calls.
//
// # What it guarantees
//
// A process serves one call at a time and one tenant only. Its environment
// is built explicitly: go-plugin's handshake variables, the egress socket
// path and the call's declared secrets, never the broker's (SkipHostEnv).
// Its stdin is /dev/null. A call that times out, crashes, overflows its
// output or is cancelled kills the process and everything in its PID
// namespace; the next call gets a fresh process. Close stops every process
// (graceful, then SIGKILL after a grace period), removes every socket and
// directory, and leaves no goroutine behind.
//
// # Why a hand-written JSON codec rather than protoc?
//
// The service has two methods whose payloads are already JSON (the tool
// ABI); generated protobuf code would wrap them in bytes fields and add a
// code generator to the build for nothing. grpc.ServiceDesc plus an
// encoding.Codec registered under its own content subtype keep go-plugin's
// own protobuf services untouched and the wire trivially documented.
//
// # Why a sealed memfd rather than executing the file's descriptor?
//
// Hashing an open descriptor and executing it (/proc/self/fd/N) closes the
// rename window but not an in-place write by anyone who can write the
// file. Bytes copied into a memfd and sealed (F_SEAL_WRITE, SHRINK, GROW,
// SEAL) cannot change at all, and one copy serves every process of the
// program.
//
// # Why RLIMIT_DATA for memory, and CPU time per process?
//
// The Go runtime reserves hundreds of megabytes of address space at start
// (it cannot start under a 512 MiB RLIMIT_AS), but reservations are not
// data: RLIMIT_DATA counts the writable private memory a process actually
// maps, so it is Limits.MemoryBytes, and RLIMIT_AS is that plus a slack.
// Setting another process's rlimits needs CAP_SYS_RESOURCE, which a broker
// may lack, so RLIMIT_CPU is a per-process budget set at launch; a call is
// only given a process with at least its timeout left.
//
// # What it does not do
//
// It needs Linux (amd64 or arm64) and root, and landlock unless
// Config.AllowWithoutLandlock. It does not use cgroups: limits are rlimits.
// A plugin cannot create processes, so tools that shell out do not work.
// Stderr of a successful call is best effort (it reaches the broker
// asynchronously); a failed call waits for all of it.
// Result.PeakMemoryBytes is always 0.
package plugin
