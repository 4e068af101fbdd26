package plugin

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// The plugin protocol, version 1. sandbox/plugin holds the broker's copy of
// these names; the two are kept equal by the tests of sandbox/plugin, which
// run plugins built with this package.
const (
	// ProtocolVersion is the go-plugin protocol version both sides offer.
	ProtocolVersion = 1
	// pluginName is the one plugin in the go-plugin plugin set.
	pluginName = "tool"
	// serviceName is the gRPC service.
	serviceName = "toolwarden.plugin.v1.Tool"
	// codecName is the gRPC content subtype of the service's messages:
	// each message is one JSON value, carried as its bytes.
	codecName = "toolwarden-json"
	// EgressSocketEnv names the environment variable holding the path of
	// the broker's egress proxy socket inside the sandbox.
	EgressSocketEnv = "TOOLWARDEN_EGRESS_SOCKET"
)

// handshake is go-plugin's handshake. The cookie is not authentication; it
// only stops the binary from running as a plugin by accident.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "TOOLWARDEN_PLUGIN",
	MagicCookieValue: "b5d0c1c3f0e84f43a3b0f7a2d3c9e6a1",
}

// rawJSON is a message: the bytes of one JSON value.
type rawJSON []byte

// codec carries rawJSON messages as they are.
type codec struct{}

func (codec) Name() string { return codecName }

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *rawJSON:
		return *m, nil
	case rawJSON:
		return m, nil
	}
	return nil, errors.New("toolwarden-json codec: unexpected message type")
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawJSON)
	if !ok {
		return errors.New("toolwarden-json codec: unexpected message type")
	}
	*m = append((*m)[:0], data...)
	return nil
}

func init() { encoding.RegisterCodec(codec{}) }

// toolServer is what the gRPC service calls.
type toolServer interface {
	describe(ctx context.Context) (rawJSON, error)
	invoke(ctx context.Context, args rawJSON) (rawJSON, error)
}

func handler(call func(s toolServer, ctx context.Context, in rawJSON) (rawJSON, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in rawJSON
		if err := dec(&in); err != nil {
			return nil, err
		}
		out, err := call(srv.(toolServer), ctx, in)
		if err != nil {
			return nil, err
		}
		return &out, nil
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*toolServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Describe", Handler: handler(func(s toolServer, ctx context.Context, _ rawJSON) (rawJSON, error) { return s.describe(ctx) })},
		{MethodName: "Invoke", Handler: handler(func(s toolServer, ctx context.Context, in rawJSON) (rawJSON, error) { return s.invoke(ctx, in) })},
	},
	Metadata: "toolwarden/plugin/v1",
}

// grpcPlugin registers the service with go-plugin's gRPC server.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv toolServer
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&serviceDesc, p.srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("the tool SDK serves plugins; it is not a client")
}
