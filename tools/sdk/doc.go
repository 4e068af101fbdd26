// Package sdk is what a tool author imports to write a toolwarden tool in Go.
// A tool is a main package compiled with GOOS=wasip1 GOARCH=wasm whose main
// function calls [Run] with the tool's body; [Decode] turns the arguments into
// a Go value, strictly.
//
//	func main() {
//		sdk.Run(func(ctx context.Context, raw json.RawMessage) (any, error) {
//			var args struct {
//				Text string `json:"text"`
//			}
//			if err := sdk.Decode(raw, &args); err != nil {
//				return nil, err
//			}
//			return map[string]string{"text": args.Text}, nil
//		})
//	}
//
// # Tool ABI, version 1
//
// The broker and every runtime speak the same protocol with a tool:
//
//   - The tool receives its arguments on stdin: exactly one JSON object, byte
//     for byte as the broker validated it, then end of file. It receives no
//     command-line arguments, no environment except the secrets its manifest
//     declares, no files except the directories its grant mounts read-only
//     ([Mounts], [Open]) and no network except requests the broker makes
//     for it under its egress grant ([Fetch]).
//   - The tool writes exactly one JSON object to stdout, then exits with
//     status 0: {"result": VALUE} on success, where VALUE is any JSON value,
//     or {"error": "MESSAGE"} for a failure the tool wants to report. The
//     object has exactly one member; duplicate or other keys, trailing data
//     and invalid UTF-8 make the call fail with sandbox.bad_output.
//   - Stderr is for diagnostics: the runtime keeps a capped prefix for the
//     operators and never shows it to the caller.
//   - A non-zero exit status, a trap, or stdout past the output limit fails
//     the call with a sandbox reason code; the caller never sees partial
//     output.
//
// # Guarantees
//
// [Run] reads at most [MaxArgsBytes] of arguments, rejects anything that is
// not a single JSON object before the body runs, writes exactly one envelope
// and exits 0. [Decode] rejects unknown fields, keys that differ from a
// field's name only by case (encoding/json would otherwise accept them),
// duplicate keys at any depth, and trailing data, so a tool reads exactly
// the view of the arguments the broker's policy checked.
//
// # Network and files (GOOS=wasip1)
//
// [Fetch] calls the host function toolwarden.http_request_v1 (ABI v1, see
// package sandbox/wasm): the broker checks the request against the call's
// grant, makes it, follows redirects (each hop checked) and records it in
// the call's audit record. [Open] sends a path to the broker's file system
// as given, uncleaned, so the broker alone decides what is inside a mount
// and records what it refuses. Outside GOOS=wasip1 both fail.
//
// # What it does not do
//
// Package sdk imports only the standard library and builds for any GOOS, so
// it can be tested on the host. It does not import net/http (a tool that
// needs an http.Client wraps [Fetch] itself), so tools stay small. It does not validate arguments against the
// tool's input schema (the broker does), and it does not recover panics: a
// panicking tool exits non-zero and the call fails with sandbox.exit.
package sdk
