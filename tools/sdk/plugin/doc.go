// Package plugin is the plugin side of the toolwarden SDK: a Go tool author
// who needs a native runtime (cgo libraries, a real file system view, more
// than wasip1 offers) writes one [sdk.Func] and calls [Serve] from main; the
// broker's sandbox/plugin runner launches the binary in an isolated process
// and calls it over go-plugin.
//
//	func main() {
//		plugin.Serve(func(ctx context.Context, raw json.RawMessage) (any, error) {
//			var args struct {
//				Query string `json:"query"`
//			}
//			if err := sdk.Decode(raw, &args); err != nil {
//				return nil, err
//			}
//			return run(ctx, args.Query)
//		})
//	}
//
// # Protocol, version 1
//
// [Serve] speaks go-plugin's handshake (protocol version [ProtocolVersion],
// gRPC only) and serves toolwarden.plugin.v1.Tool: Describe returns
// {"protocol": 1, "abi": 1}; Invoke receives the argument object, byte for
// byte as the broker validated it, and returns the tool ABI v1 envelope,
// {"result": V} or {"error": "MESSAGE"} (see package sdk). Messages are
// JSON values carried as bytes under the gRPC content subtype
// "toolwarden-json". The broker sends one call at a time.
//
// # The sandbox a plugin runs in
//
// No network but the broker's egress proxy ([HTTPClient]); no files but a
// private /tmp, the system libraries (read-only) and the directories its
// grant mounts read-only; no child processes (fork fails with EPERM); an
// environment holding only the secrets its manifest declares; an
// unprivileged uid; memory, CPU time, open files and file size capped.
//
// # What it does not do
//
// It does not recover panics (the process dies and the call fails with
// sandbox.crashed) and does not validate arguments against the tool's
// schema (the broker does). Unlike package sdk it imports go-plugin and
// gRPC, so it does not build for wasip1; a tool that builds for both keeps
// its body in a package of its own and has one main for each.
package plugin
