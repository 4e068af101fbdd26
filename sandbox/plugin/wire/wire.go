package wire

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// The protocol's names.
const (
	// ProtocolVersion is the go-plugin protocol version both sides offer.
	ProtocolVersion = 1
	// PluginName is the one plugin in the go-plugin plugin set.
	PluginName = "tool"
	// ServiceName is the gRPC service.
	ServiceName = "toolwarden.plugin.v1.Tool"
	// CodecName is the gRPC content subtype of the service's messages.
	CodecName = "toolwarden-json"

	methodDescribe = "/" + ServiceName + "/Describe"
	methodInvoke   = "/" + ServiceName + "/Invoke"
)

// Handshake is go-plugin's handshake. The cookie only stops a binary from
// running as a plugin by accident; it is not authentication.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "TOOLWARDEN_PLUGIN",
	MagicCookieValue: "b5d0c1c3f0e84f43a3b0f7a2d3c9e6a1",
}

// Description is Describe's reply.
type Description struct {
	Protocol int `json:"protocol"`
	ABI      int `json:"abi"`
}

// RawJSON is one message of the service: the bytes of one JSON value.
type RawJSON []byte

// codec carries RawJSON messages unchanged. It is registered under its
// own content subtype, so go-plugin's own protobuf services are untouched.
type codec struct{}

func (codec) Name() string { return CodecName }

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *RawJSON:
		return *m, nil
	case RawJSON:
		return m, nil
	}
	return nil, errors.New("toolwarden-json codec: unexpected message type")
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*RawJSON)
	if !ok {
		return errors.New("toolwarden-json codec: unexpected message type")
	}
	*m = append((*m)[:0], data...)
	return nil
}

func init() { encoding.RegisterCodec(codec{}) }

// Service is what a plugin serves.
type Service interface {
	Describe(ctx context.Context) (RawJSON, error)
	Invoke(ctx context.Context, args RawJSON) (RawJSON, error)
}

func handler(call func(s Service, ctx context.Context, in RawJSON) (RawJSON, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in RawJSON
		if err := dec(&in); err != nil {
			return nil, err
		}
		out, err := call(srv.(Service), ctx, in)
		if err != nil {
			return nil, err
		}
		return &out, nil
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*Service)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Describe", Handler: handler(func(s Service, ctx context.Context, _ RawJSON) (RawJSON, error) { return s.Describe(ctx) })},
		{MethodName: "Invoke", Handler: handler(func(s Service, ctx context.Context, in RawJSON) (RawJSON, error) { return s.Invoke(ctx, in) })},
	},
	Metadata: "toolwarden/plugin/v1",
}

// ServerPlugin is the go-plugin plugin a tool serves: it registers Srv's
// service with go-plugin's gRPC server.
type ServerPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Srv Service
}

// GRPCServer registers the service.
func (p *ServerPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&serviceDesc, p.Srv)
	return nil
}

// GRPCClient refuses: a tool serves, it is not a client.
func (p *ServerPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("the tool SDK serves plugins; it is not a client")
}

// ClientPlugin is the go-plugin plugin the broker dispenses: a *[Client].
type ClientPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

// GRPCServer refuses: the broker is a client.
func (ClientPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the broker is a plugin client, not a server")
}

// GRPCClient returns a *[Client] on conn.
func (ClientPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Client{conn: conn}, nil
}

// ClientSet is the broker's plugin set for every supported version.
func ClientSet() map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{ProtocolVersion: {PluginName: ClientPlugin{}}}
}

// ServerSet is a tool's plugin set serving srv.
func ServerSet(srv Service) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{ProtocolVersion: {PluginName: &ServerPlugin{Srv: srv}}}
}

// maxDescribeBytes caps Describe's reply.
const maxDescribeBytes = 64 << 10

// Client calls the service over one connection.
type Client struct {
	conn *grpc.ClientConn
}

// Describe calls Describe and returns its raw reply.
func (c *Client) Describe(ctx context.Context) ([]byte, error) {
	in, out := RawJSON("{}"), RawJSON(nil)
	if err := c.conn.Invoke(ctx, methodDescribe, &in, &out, grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(maxDescribeBytes)); err != nil {
		return nil, err
	}
	return out, nil
}

// Invoke calls Invoke with the argument bytes and returns the reply
// envelope, refusing a reply larger than maxReply bytes.
func (c *Client) Invoke(ctx context.Context, args []byte, maxReply int) ([]byte, error) {
	in, out := RawJSON(args), RawJSON(nil)
	if err := c.conn.Invoke(ctx, methodInvoke, &in, &out, grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(maxReply)); err != nil {
		return nil, err
	}
	return out, nil
}
