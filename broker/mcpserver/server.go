package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
)

// core is what the server needs of the broker.
type core interface {
	ListTools(ctx context.Context, p auth.Principal) []broker.ToolInfo
	CallTool(ctx context.Context, c broker.Call) (*broker.Outcome, error)
	RecordRefusal(ctx context.Context, c broker.Call, code string, cause error) error
}

// authenticator resolves a bearer credential to a principal.
type authenticator interface {
	Authenticate(ctx context.Context, bearer string) (auth.Principal, error)
}

// Defaults used where a Config field is zero.
const (
	DefaultName               = "toolwarden"
	DefaultVersion            = "dev"
	DefaultMaxBodyBytes       = 4 << 20
	DefaultMaxFrameBytes      = 4 << 20
	DefaultSessionIdleTimeout = 30 * time.Minute
)

// Transport names recorded in [broker.Meta].
const (
	TransportHTTP  = "http"
	TransportStdio = "stdio"
)

// dispatchTool is the one tool registered with mcp-go. A tools/call the
// broker did not refuse as unknown or denied is routed to it; its name
// cannot be a manifest tool name, and calling it by name is refused like any
// unknown tool.
const dispatchTool = " toolwarden dispatch"

// Config configures a [Server].
type Config struct {
	// Core runs the calls: normally a *broker.Broker. Required.
	Core core
	// Auth authenticates every HTTP request's bearer credential: normally a
	// *auth.Authenticator. Required.
	Auth authenticator
	// Name and Version identify the server to clients; zero means
	// DefaultName and DefaultVersion.
	Name    string
	Version string
	// MaxBodyBytes caps a Streamable HTTP request body; zero means 4 MiB.
	// A larger body gets 413.
	MaxBodyBytes int64
	// MaxFrameBytes caps one stdio message (one line); zero means 4 MiB. A
	// longer line gets a JSON-RPC error and is skipped.
	MaxFrameBytes int64
	// AllowedOrigins lists the browser origins ("https://app.example.com")
	// whose requests are served. Zero means none: a request carrying any
	// Origin header is refused, one without (a non-browser client) is served.
	// The origin "null" is always refused. The slice is copied.
	AllowedOrigins []string
	// SessionIdleTimeout ends a Streamable HTTP session that has seen no
	// request for this long (an open GET stream keeps it alive); zero means
	// 30 minutes.
	SessionIdleTimeout time.Duration
	// ResourceURL is this server's resource identifier for RFC 9728
	// metadata, e.g. "https://broker.example.com/mcp". Empty means no
	// metadata is served and 401 replies carry no resource_metadata.
	ResourceURL string
	// AuthorizationServers lists the OAuth authorization servers (issuer
	// URLs) published in the RFC 9728 metadata; nil means none. The slice
	// is copied.
	AuthorizationServers []string
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server serves a broker to MCP clients over Streamable HTTP and stdio.
//
// # Notes
//
// A Server is safe for concurrent use: one Handler may serve many
// connections while ServeStdio serves streams. Close stops its background
// work; the caller shuts down any http.Server it built with HTTPServer.
type Server struct {
	core        core
	auth        authenticator
	log         *slog.Logger
	maxBody     int64
	maxFrame    int64
	origins     map[string]bool
	idle        time.Duration
	resourceURL string
	metadataURL string // RFC 9728 metadata URL derived from resourceURL; "" when none
	metadata    []byte // RFC 9728 document; nil when none

	mcp        *server.MCPServer
	streamable *server.StreamableHTTPServer
	sessions   *sessionStore
	handler    http.Handler

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New validates cfg, builds the mcp-go server and starts the session
// sweeper. Call Close when done.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Core == nil:
		return nil, errors.New("mcpserver: Config.Core is nil")
	case cfg.Auth == nil:
		return nil, errors.New("mcpserver: Config.Auth is nil")
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("mcpserver: Config.MaxBodyBytes is negative")
	case cfg.MaxFrameBytes < 0:
		return nil, errors.New("mcpserver: Config.MaxFrameBytes is negative")
	case cfg.SessionIdleTimeout < 0:
		return nil, errors.New("mcpserver: Config.SessionIdleTimeout is negative")
	}
	s := &Server{
		core:     cfg.Core,
		auth:     cfg.Auth,
		log:      cfg.Logger,
		maxBody:  cmpOr(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		maxFrame: cmpOr(cfg.MaxFrameBytes, DefaultMaxFrameBytes),
		idle:     cmpOr(cfg.SessionIdleTimeout, DefaultSessionIdleTimeout),
		origins:  make(map[string]bool, len(cfg.AllowedOrigins)),
		stop:     make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for i, o := range cfg.AllowedOrigins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("mcpserver: Config.AllowedOrigins[%d]: %w", i, err)
		}
		s.origins[norm] = true
	}
	if err := s.setMetadata(cfg.ResourceURL, cfg.AuthorizationServers); err != nil {
		return nil, err
	}
	s.sessions = newSessionStore(s.idle)

	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	version := cfg.Version
	if version == "" {
		version = DefaultVersion
	}
	hooks := &server.Hooks{}
	hooks.AddBeforeCallTool(s.beforeCallTool)
	// WithInputSchemaValidation stays off: it skips schemas it cannot
	// compile. The broker validates arguments itself.
	s.mcp = server.NewMCPServer(name, version,
		server.WithToolCapabilities(false),
		server.WithToolFilter(s.filterTools),
		server.WithHooks(hooks),
	)
	s.mcp.AddTool(mcp.Tool{
		Name:        dispatchTool,
		InputSchema: mcp.ToolInputSchema{Type: "object"},
	}, s.dispatch)
	s.streamable = server.NewStreamableHTTPServer(s.mcp,
		server.WithSessionIdManagerResolver(sessionResolver{s}),
		server.WithStreamableHTTPLogger(s.log),
	)
	s.handler = s.routes()

	s.wg.Add(1)
	go s.sweep()
	return s, nil
}

// Close stops the session sweeper and ends open GET streams. It does not
// shut down http.Servers built with HTTPServer. Calling it twice is safe.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.streamable.CloseSessions(context.Background())
	})
	return nil
}

// reqState is one message's context, from the transport to the tool
// handler. It travels in the request context. The hook and the handler of a
// tools/call run on the goroutine that handles the message, one after the
// other, so the call fields need no lock.
type reqState struct {
	principal     auth.Principal
	transport     string
	session       string
	remoteAddr    string
	userAgent     string
	headerProto   string // Mcp-Protocol-Version header
	protocol      string // negotiated at initialize (legacy sessions)
	clientName    string // from initialize (legacy sessions)
	clientVersion string
	frame         *frame

	// Set by beforeCallTool for the dispatcher.
	dispatched bool
	outcome    *broker.Outcome
	callErr    error
}

type stateKey struct{}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// meta builds the audit metadata of the message in st.
func (st *reqState) meta(ctx context.Context) broker.Meta {
	m := broker.Meta{
		Transport:     st.transport,
		Session:       st.session,
		RemoteAddr:    st.remoteAddr,
		UserAgent:     st.userAgent,
		Protocol:      st.protocol,
		ClientName:    st.clientName,
		ClientVersion: st.clientVersion,
	}
	if f := st.frame; f != nil {
		m.RequestID = f.idText
		m.Model = f.model
		if f.metaProtocol != "" {
			m.Protocol = f.metaProtocol
		}
		if f.metaClientName != "" || f.metaClientVersion != "" {
			m.ClientName, m.ClientVersion = f.metaClientName, f.metaClientVersion
		}
	}
	if m.Protocol == "" && ctx != nil {
		m.Protocol = server.RequestProtocolVersion(ctx)
	}
	if m.Protocol == "" {
		m.Protocol = st.headerProto
	}
	return m
}

// call builds the broker call of a tools/call message.
func (st *reqState) call(ctx context.Context) broker.Call {
	return broker.Call{
		Principal: st.principal,
		Tool:      st.frame.toolName,
		Args:      st.frame.args,
		Meta:      st.meta(ctx),
	}
}

// beforeCallTool runs the call through the broker before mcp-go looks the
// tool up, because only the broker knows whether the tool exists for this
// caller and mcp-go answers an unknown tool itself. A call refused as
// unknown or denied keeps its name, which mcp-go does not know, and gets
// mcp-go's "tool not found" error; any other call is routed to the
// dispatcher, which renders the result.
func (s *Server) beforeCallTool(ctx context.Context, _ any, req *mcp.CallToolRequest) {
	st := stateFrom(ctx)
	if st == nil || st.frame == nil || st.frame.method != methodToolsCall {
		// Not a message this package checked: leave it to fail as unknown.
		s.log.Error("mcpserver: tools/call without checked frame")
		return
	}
	if req.Params.Name != st.frame.toolName {
		// Impossible after the strict frame check; refuse rather than
		// guess which name is meant.
		s.log.Error("mcpserver: tool name differs between views", "checked", st.frame.toolName, "mcp", req.Params.Name)
		st.callErr = &broker.Error{Code: broker.CodeInternal, Public: msgInternal}
	} else {
		st.outcome, st.callErr = s.callCore(ctx, st.call(ctx))
		if st.callErr == nil && st.outcome == nil {
			st.callErr = &broker.Error{Code: broker.CodeInternal, Public: msgInternal, Err: errors.New("broker returned no outcome")}
		}
		if st.callErr != nil && replyFor(st.callErr).notFound {
			return
		}
	}
	st.dispatched = true
	req.Params.Name = dispatchTool
}

// callCore calls the broker, turning a panic into an internal error.
func (s *Server) callCore(ctx context.Context, c broker.Call) (out *broker.Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("mcpserver: broker panicked", "tool", c.Tool, "panic", r)
			out, err = nil, &broker.Error{Code: broker.CodeInternal, Public: msgInternal, Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	return s.core.CallTool(ctx, c)
}

// dispatch renders the outcome beforeCallTool obtained. It never returns a
// Go error: mcp-go would send its text to the client.
func (s *Server) dispatch(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	st := stateFrom(ctx)
	if st == nil || !st.dispatched {
		return errorResult(reply{code: broker.CodeInternal, message: msgInternal}), nil
	}
	if st.callErr != nil {
		r := replyFor(st.callErr)
		if r.notFound {
			// Only reachable through the name check above.
			return errorResult(reply{code: broker.CodeInternal, message: msgInternal}), nil
		}
		return errorResult(r), nil
	}
	return outcomeResult(st.outcome), nil
}

// filterTools decides what mcp-go may list or call. tools/list gets the
// caller's tools from the broker, whatever is registered; tools/call may
// reach the dispatcher only when beforeCallTool routed it there.
func (s *Server) filterTools(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	st := stateFrom(ctx)
	if st == nil || st.frame == nil {
		return nil
	}
	switch st.frame.method {
	case methodToolsCall:
		if st.dispatched {
			return tools
		}
		return nil
	case string(mcp.MethodToolsList):
		return s.toolsFor(ctx, st.principal)
	}
	return nil
}

// toolsFor lists the tools the broker shows p, schemas as given.
func (s *Server) toolsFor(ctx context.Context, p auth.Principal) []mcp.Tool {
	infos := s.core.ListTools(ctx, p)
	out := make([]mcp.Tool, 0, len(infos))
	for _, info := range infos {
		schema := info.InputSchema
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		} else if !json.Valid(schema) {
			s.log.Error("mcpserver: tool has an invalid input schema; not listed", "tool", info.Name)
			continue
		}
		t := mcp.NewToolWithRawSchema(info.Name, info.Description, schema)
		if info.Risk != "" {
			t.Meta = &mcp.Meta{AdditionalFields: map[string]any{"toolwarden.dev/risk": info.Risk}}
		}
		out = append(out, t)
	}
	return out
}

// setMetadata validates the RFC 9728 settings and prepares the document.
func (s *Server) setMetadata(resource string, servers []string) error {
	if resource == "" {
		if len(servers) > 0 {
			return errors.New("mcpserver: Config.AuthorizationServers is set but Config.ResourceURL is empty")
		}
		return nil
	}
	u, err := url.Parse(resource)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("mcpserver: Config.ResourceURL %q is not an absolute http(s) URL without fragment", resource)
	}
	copied := make([]string, 0, len(servers))
	for i, as := range servers {
		v, err := url.Parse(as)
		if err != nil || (v.Scheme != "https" && v.Scheme != "http") || v.Host == "" {
			return fmt.Errorf("mcpserver: Config.AuthorizationServers[%d] %q is not an absolute http(s) URL", i, as)
		}
		copied = append(copied, as)
	}
	doc := struct {
		Resource               string   `json:"resource"`
		AuthorizationServers   []string `json:"authorization_servers,omitempty"`
		BearerMethodsSupported []string `json:"bearer_methods_supported"`
	}{resource, copied, []string{"header"}}
	s.metadata, err = json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("mcpserver: encode resource metadata: %w", err)
	}
	s.resourceURL = resource
	// RFC 9728 section 3.1: the well-known suffix goes between the host and
	// the resource's path.
	s.metadataURL = u.Scheme + "://" + u.Host + metadataPath + strings.TrimSuffix(u.EscapedPath(), "/")
	return nil
}

func cmpOr[T int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
