package plugin

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

// ABIVersion is the tool ABI the service speaks: the arguments and the
// reply envelope are those of tool ABI v1 (see package sdk).
const ABIVersion = sdk.ABIVersion

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
		HandshakeConfig: handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			ProtocolVersion: {pluginName: &grpcPlugin{srv: &server{fn: fn}}},
		},
		GRPCServer: goplugin.DefaultGRPCServer,
		Logger:     hclog.NewNullLogger(),
	})
}

// server implements the service around one Func.
type server struct {
	fn sdk.Func
	mu sync.Mutex // one call at a time, whatever the broker sends
}

// description is Describe's reply.
type description struct {
	Protocol int `json:"protocol"`
	ABI      int `json:"abi"`
}

func (s *server) describe(context.Context) (rawJSON, error) {
	return json.Marshal(description{Protocol: ProtocolVersion, ABI: ABIVersion})
}

func (s *server) invoke(ctx context.Context, args rawJSON) (rawJSON, error) {
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
