package plugin

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/plugin/wire"
	"github.com/toolwarden/toolwarden/tools/sdk"
)

// ABIVersion is the tool ABI the service speaks: the arguments and the
// reply envelope are those of tool ABI v1 (see package sdk).
const ABIVersion = sdk.ABIVersion

// ProtocolVersion is the plugin protocol version Serve offers.
const ProtocolVersion = wire.ProtocolVersion

// EgressSocketEnv names the environment variable holding the path of the
// broker's egress proxy socket inside the sandbox.
const EgressSocketEnv = abi.EgressSocketEnv

// Serve runs fn as a plugin tool and never returns. It speaks the
// go-plugin handshake on stdout and serves the gRPC service
// toolwarden.plugin.v1.Tool on the Unix socket go-plugin names; the
// broker calls Invoke once per tool call, one call at a time.
//
// # Notes
//
// fn receives the argument object exactly as the broker validated it
// (the bytes are not re-encoded) and a context that ends when the broker
// gives up on the call. Its result is encoded as {"result": V}; an error
// becomes {"error": MESSAGE}. A panic is not recovered: the process dies
// and the call fails with sandbox.crashed. Run as an ordinary command
// (not by the broker), Serve prints a notice and exits 1.
func Serve(fn sdk.Func) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.ServerSet(&server{fn: fn}),
		GRPCServer:       goplugin.DefaultGRPCServer,
		Logger:           hclog.NewNullLogger(),
	})
}

// server implements the service around one Func.
type server struct {
	fn sdk.Func
	mu sync.Mutex // one call at a time, whatever the broker sends
}

// Describe answers the broker's Describe.
func (s *server) Describe(context.Context) (wire.RawJSON, error) {
	return json.Marshal(wire.Description{Protocol: ProtocolVersion, ABI: ABIVersion})
}

// Invoke runs one call.
func (s *server) Invoke(ctx context.Context, args wire.RawJSON) (wire.RawJSON, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Invoke(ctx, s.fn, args), nil
}

// Invoke runs fn on the argument bytes args the way the plugin service
// does and returns the reply envelope: {"result": V} or {"error": MSG}.
// It is exported so tool authors can test their function without a
// broker.
func Invoke(ctx context.Context, fn sdk.Func, args []byte) []byte {
	return sdk.Reply(ctx, fn, args)
}
