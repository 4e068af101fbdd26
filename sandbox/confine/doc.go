// Package confine starts a program confined: the isolated launcher shared
// by every runtime that runs native processes (sandbox/plugin today, and
// wrapped MCP servers next). The broker re-executes itself (/proc/self/exe) with
// argv[1] == [Marker] in fresh network, mount, PID, IPC, UTS and cgroup
// namespaces; [Main], run by that process, reads a JSON [Spec] from an
// inherited pipe, confines itself and execs the plugin binary from a
// sealed memfd the broker verified, so the bytes that run are the bytes
// whose digest was checked.
//
// # What the launcher does, in order
//
//  1. makes every mount private, mounts a small tmpfs as the new root and
//     bind-mounts into it, read-only, only the system library paths the
//     spec names, four device nodes (/dev/null, zero, random, urandom),
//     the go-plugin socket directory (read-write, at /run/toolwarden) and
//     the spec's read-only mounts; mounts a private tmpfs /tmp owned by
//     the plugin's uid; pivots into the new root, detaches the old one and
//     remounts the root read-only;
//  2. brings up the loopback interface (the only one the network
//     namespace has) and sets the host name;
//  3. builds a landlock ruleset: read beneath the library paths, execute
//     only the dynamic loaders, read beneath the mounts, read-write beneath
//     /tmp and the socket directory, nothing else; on landlock ABI 4 and later no TCP
//     bind or connect at all, on ABI 6 and later no signals or abstract
//     Unix sockets outside the sandbox;
//  4. drops every capability from the bounding set, clears supplementary
//     groups, switches to the spec's unprivileged uid and gid, sets
//     no_new_privs and the parent-death signal, enforces the landlock
//     ruleset, installs the seccomp filter and sets the rlimits;
//  5. marks every inherited descriptor close-on-exec and execveat(2)s the
//     memfd with AT_EMPTY_PATH, with the spec's environment only.
//
// Any failure before the exec is written to an error pipe the broker reads
// ([Process.Start] returns it) and the launcher exits with status 125.
//
// # What it does not do
//
// It does not decide limits, uids or paths (its caller does), does not
// supervise the plugin once it runs, and supports linux/amd64 and
// linux/arm64 only (the seccomp filter names syscalls by number).
package confine
