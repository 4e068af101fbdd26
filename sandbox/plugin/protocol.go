package plugin

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// The plugin protocol, version 1: the broker's copy of what
// tools/sdk/plugin serves. Both sides name the same handshake, service,
// methods and codec; the tests run plugins built with the SDK against
// this side, so a drift fails them.
const (
	protocolVersion = 1
	pluginName      = "tool"
	serviceName     = "toolwarden.plugin.v1.Tool"
	methodDescribe  = "/" + serviceName + "/Describe"
	methodInvoke    = "/" + serviceName + "/Invoke"
	codecName       = "toolwarden-json"
	// egressSocketEnv tells the plugin where the egress proxy listens.
	egressSocketEnv = "TOOLWARDEN_EGRESS_SOCKET"
)

// handshake is go-plugin's handshake. The cookie is not authentication:
// the broker trusts a plugin because it launched its verified bytes
// itself, not because of the cookie.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  protocolVersion,
	MagicCookieKey:   "TOOLWARDEN_PLUGIN",
	MagicCookieValue: "b5d0c1c3f0e84f43a3b0f7a2d3c9e6a1",
}

// rawJSON is one message of the service: the bytes of one JSON value.
type rawJSON []byte

// codec carries rawJSON messages unchanged. It is registered under its
// own content subtype, so go-plugin's own protobuf services are untouched.
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

// grpcPlugin is the client half of the go-plugin plugin.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (grpcPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the broker is a plugin client, not a server")
}

func (grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &toolClient{conn: conn}, nil
}

// pluginSet is the client's plugin set for every supported version.
func pluginSet() map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{protocolVersion: {pluginName: grpcPlugin{}}}
}

// toolClient calls the service over one connection.
type toolClient struct {
	conn *grpc.ClientConn
}

// describe calls Describe.
func (c *toolClient) describe(ctx context.Context) ([]byte, error) {
	in, out := rawJSON("{}"), rawJSON(nil)
	if err := c.conn.Invoke(ctx, methodDescribe, &in, &out, grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(64<<10)); err != nil {
		return nil, err
	}
	return out, nil
}

// invoke calls Invoke with the argument bytes and returns the reply
// envelope, refusing a reply larger than maxReply bytes.
func (c *toolClient) invoke(ctx context.Context, args []byte, maxReply int) ([]byte, error) {
	in, out := rawJSON(args), rawJSON(nil)
	if err := c.conn.Invoke(ctx, methodInvoke, &in, &out, grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(maxReply)); err != nil {
		return nil, err
	}
	return out, nil
}
