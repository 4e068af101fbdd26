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
	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// core is what the server needs of the broker.
type core interface {
	ListTools(ctx context.Context, p auth.Principal) []broker.ToolInfo
	CallTool(ctx context.Context, c broker.Call) (*broker.Outcome, error)
	Refuse(ctx context.Context, r broker.Refusal) error
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
	impl       mcp.Implementation // this server, as results name it
	streamable *server.StreamableHTTPServer
	sessions   *sessionStore
	gate       *streamGate
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
	s.gate = newStreamGate()

	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	version := cfg.Version
	if version == "" {
		version = DefaultVersion
	}
	// mcp-go serves the protocol's housekeeping (initialize, ping,
	// server/discover, notifications) and tools/list, whose tool filter
	// asks the broker. It never sees a tools/call: serveCall answers those.
	// WithInputSchemaValidation stays off: it skips schemas it cannot
	// compile, and the broker validates arguments itself.
	s.mcp = server.NewMCPServer(name, version,
		server.WithToolCapabilities(false),
		server.WithToolFilter(s.filterTools),
	)
	s.impl = mcp.Implementation{Name: name, Version: version}
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

// reqState is one message as the transport received it: who sent it,
// how, and the checked frame. It is made before the message is served and
// never changed after; mcp-go's tool filter and session manager read it
// from the request context.
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
}

type stateKey struct{}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// modern reports whether the message uses protocol 2026-07-28 or later
// (stateless: no initialize, no session).
func (st *reqState) modern() bool {
	return mcp.IsModernProtocol(st.headerProto) || (st.frame != nil && mcp.IsModernProtocol(st.frame.metaProtocol))
}

// meta builds the audit metadata of the message in st.
func (st *reqState) meta() broker.Meta {
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
	if m.Protocol == "" {
		m.Protocol = st.headerProto
	}
	return m
}

// call builds the broker call of a tools/call message.
func (st *reqState) call() broker.Call {
	return broker.Call{
		Principal: st.principal,
		Tool:      st.frame.toolName,
		Args:      st.frame.args,
		Meta:      st.meta(),
	}
}

// serveCall runs a tools/call through the broker and returns the JSON-RPC
// response. A call refused as unknown or denied gets the same "tool not
// found" error whichever it was; every other outcome is a tool result.
func (s *Server) serveCall(ctx context.Context, st *reqState) []byte {
	f := st.frame
	out, err := s.callCore(ctx, st.call())
	var res *mcp.CallToolResult
	switch {
	case err != nil:
		r := replyFor(err)
		if r.notFound {
			return errorReply(f.id, codeInvalidParams, broker.CodeUnknownTool, clip(fmt.Sprintf("tool %q not found", f.toolName)))
		}
		res = errorResult(r)
	case out == nil:
		s.log.Error("mcpserver: broker returned neither an outcome nor an error", "tool", f.toolName)
		res = errorResult(reply{code: broker.CodeInternal, message: msgInternal})
	default:
		res = outcomeResult(out)
	}
	if st.modern() {
		// Results of protocol 2026-07-28 and later say what they are and
		// who answered, as mcp-go's own results do.
		res.SetResultType(mcp.ResultTypeComplete)
		res.EnsureResultMeta().SetServerInfo(s.impl)
	}
	body, merr := json.Marshal(mcp.NewJSONRPCResultResponse(mcp.NewRequestId(rawID(f.id)), res))
	if merr != nil {
		s.log.Error("mcpserver: encode tools/call result", "tool", f.toolName, "err", merr)
		return errorReply(f.id, int(mcp.INTERNAL_ERROR), broker.CodeInternal, msgInternal)
	}
	return body
}

// rawID turns a checked id into the value mcp-go's response types carry.
func rawID(id json.RawMessage) any {
	var v any
	if strictjson.Unmarshal(id, &v, strictjson.Limits{MaxBytes: len(id)}) != nil {
		return nil
	}
	if n, ok := v.(json.Number); ok {
		i, _ := n.Int64() // readID allowed only integers of at most 15 digits
		return i
	}
	return v
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

// filterTools is mcp-go's tool filter, which tools/list goes through: the
// caller's tools as the broker lists them, whatever mcp-go holds (it holds
// none).
func (s *Server) filterTools(ctx context.Context, _ []mcp.Tool) []mcp.Tool {
	st := stateFrom(ctx)
	if st == nil || st.frame == nil || st.frame.method != methodToolsList {
		return nil
	}
	return s.toolsFor(ctx, st.principal)
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
