// Package sandboxtest is the test kit for sandbox runners and their users.
//
// It holds three things:
//
//   - [BuildWasm] builds a Go package for GOOS=wasip1 GOARCH=wasm into
//     build/wasm/ at the repository root, the same files `make tools`
//     builds, so tests work from a fresh clone;
//   - [Runner], a hand-written fake [sandbox.Runner] (kind "fake") whose
//     programs answer with a function the test supplies, in the manner of
//     net/http/httptest, for broker tests that need no real sandbox;
//   - [Conformance], the checks every real runner must pass: the allowed
//     call, digest mismatch, timeout, memory and output caps, each failure
//     followed by a successful call on the same program.
//
// It imports testing and is meant for _test.go files only; it enforces
// nothing itself.
package sandboxtest
