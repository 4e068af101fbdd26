package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// EndpointPath is where [Server.Handler] serves Streamable HTTP.
const EndpointPath = "/mcp"

// metadataPath is the RFC 9728 well-known path.
const metadataPath = "/.well-known/oauth-protected-resource"

// Limits of the http.Server built by [Server.HTTPServer]. None is zero,
// which would mean "none" to net/http.
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a request, body included. The read
	// deadline is lifted once the body is read, so that it cannot cancel a
	// long tool call or stream.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds a whole response. Tool calls finish well within
	// it; a GET stream is closed when it passes and the client reconnects.
	WriteTimeout = 10 * time.Minute
	// IdleTimeout bounds an idle keep-alive connection.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes caps a request's headers.
	MaxHeaderBytes = 64 << 10
)

// Handler returns the HTTP handler: Streamable HTTP at /mcp and, when
// Config.ResourceURL is set, RFC 9728 protected resource metadata at
// /.well-known/oauth-protected-resource (also under the resource's path).
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for addr serving Handler, with every
// timeout set (see ReadHeaderTimeout and the constants after it). Serve it
// on [Server.Listener], which refuses ambiguous framing.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext:       connContext,
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(EndpointPath, s.serveMCP)
	if s.metadata != nil {
		mux.HandleFunc(metadataPath, s.serveMetadata)
		if u, err := url.Parse(s.metadataURL); err == nil && u.Path != metadataPath {
			mux.HandleFunc(u.Path, s.serveMetadata)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.refuseHTTP(w, r, httpState(r), http.StatusNotFound,
			&frameError{code: codeInvalidRequest, reason: CodeProtocolPath, message: "not found: MCP is served at " + EndpointPath}, nil, nil)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ambiguousFraming(r.Context()) {
			w.Header().Set("Connection", "close")
			s.refuseHTTP(w, r, httpState(r), http.StatusBadRequest,
				&frameError{code: codeInvalidRequest, reason: CodeAmbiguousFraming, message: "bad request: the request states its length twice (Content-Length and Transfer-Encoding)"}, nil, nil)
			return
		}
		if !hostAllowed(r) {
			s.refuseHTTP(w, r, httpState(r), http.StatusForbidden,
				&frameError{code: codeInvalidRequest, reason: CodeProtocolHost, message: "forbidden: Host header not allowed on a loopback listener"},
				fmt.Errorf("Host %q", clip(r.Host)), nil)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveMetadata serves the RFC 9728 document. It needs no credential: it is
// how a client learns where to get one.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(s.metadata)
}

// serveMCP is the front of mcp-go's Streamable HTTP server.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.refuseHTTP(w, r, httpState(r), http.StatusForbidden,
			&frameError{code: codeInvalidRequest, reason: CodeProtocolOrigin, message: "forbidden: Origin not allowed"},
			fmt.Errorf("Origin %q", clip(strings.Join(r.Header.Values("Origin"), ", "))), nil)
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		s.refuseHTTP(w, r, httpState(r), http.StatusMethodNotAllowed,
			&frameError{code: codeInvalidRequest, reason: CodeProtocolMethod, message: "method not allowed: use POST, GET or DELETE"},
			fmt.Errorf("HTTP method %q", clip(r.Method)), nil)
		return
	}

	principal, authErr := s.authenticate(r)
	if authErr != nil {
		s.refuseUnauthenticated(w, r, authErr)
		return
	}

	st := httpState(r)
	st.principal = principal
	leave := s.gate.enter(ownerOf(principal), r.Method == http.MethodGet)
	if leave == nil {
		w.Header().Set("Retry-After", "1")
		s.refuseHTTP(w, r, st, http.StatusTooManyRequests, &frameError{code: codeInvalidRequest, reason: CodeStreamLimit,
			message: fmt.Sprintf("too many requests or streams open (at most %d requests and %d GET streams per principal)", MaxRequestsPerPrincipal, MaxStreamsPerPrincipal)}, nil, nil)
		return
	}
	defer leave()
	var body []byte
	if r.Method == http.MethodPost {
		var ok bool
		if body, ok = s.readBody(w, r, st); !ok {
			return
		}
		f, ferr := parseFrame(body, s.maxBody)
		if ferr != nil {
			s.refuseHTTP(w, r, st, http.StatusBadRequest, ferr, nil, body)
			return
		}
		st.frame = f
		if status, ferr := checkPost(r, st); ferr != nil {
			s.refuseHTTP(w, r, st, status, ferr, nil, body)
			return
		}
	}

	// Protocol 2026-07-28 has no sessions: mcp-go ignores Mcp-Session-Id
	// for a request that names it in its header or _meta, and so does this
	// front. Everything else is the legacy, session-bound protocol.
	modern := st.modern()
	initialize := st.frame != nil && st.frame.method == string(mcp.MethodInitialize)
	sid := r.Header.Get(server.HeaderKeySessionID)
	sessionErr := func(status int, reason, message string) {
		st.session = sid // the id presented, for the record
		s.refuseHTTP(w, r, st, status, &frameError{code: codeInvalidRequest, reason: reason, message: message, id: frameID(st.frame)}, nil, body)
	}
	if !modern && initialize && s.sessions.full(ownerOf(principal)) {
		sessionErr(http.StatusTooManyRequests, CodeSessionLimit, fmt.Sprintf("too many open sessions (limit %d): end one with DELETE or let it expire", maxSessionsPerPrincipal))
		return
	}
	if !modern && !initialize {
		if sid == "" {
			sessionErr(http.StatusBadRequest, CodeSessionRequired, "invalid request: Mcp-Session-Id header required; send initialize first")
			return
		}
		b, status := s.sessions.use(sid, ownerOf(principal))
		switch status {
		case sessionExpired:
			s.dropMCPSession(sid)
			fallthrough
		case sessionUnknown:
			sessionErr(http.StatusNotFound, CodeSessionUnknown, "session not found; send initialize to start a new one")
			return
		case sessionForeign:
			s.log.Warn("mcpserver: session presented by another principal", "session", sid,
				"tenant", principal.Tenant, "subject", principal.Subject, "remote", r.RemoteAddr)
			sessionErr(http.StatusForbidden, CodeSessionForeign, "session belongs to another principal")
			return
		}
		st.session = sid
		st.protocol, st.clientName, st.clientVersion = b.protocol, b.clientName, b.clientVersion
	}

	if f := st.frame; f != nil && f.kind == kindRequest && f.method == methodToolsCall {
		writeJSON(w, http.StatusOK, s.serveCall(r.Context(), st))
		return
	}
	r2 := r.WithContext(withState(r.Context(), st))
	if body != nil {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
	}
	if r.Method == http.MethodGet && st.session != "" {
		s.sessions.openStream(st.session)
		defer s.sessions.closeStream(st.session)
	}
	if r.Method != http.MethodPost {
		s.streamable.ServeHTTP(w, r2)
		return
	}
	// A JSON reply mcp-go gives is held back: an error gets its reason,
	// and is recorded as a refusal.
	cw := &captureWriter{ResponseWriter: w}
	s.streamable.ServeHTTP(cw, r2)
	cw.finish(func(reason, message string) {
		s.refuse(r.Context(), st, reason, fmt.Errorf("mcp-go: %s", message), body)
	})
}

// readBody reads a POST body up to the cap. Past the cap, or when the body
// cannot be read, it answers with a JSON-RPC error, records the refusal
// and reports false.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, st *reqState) ([]byte, bool) {
	tooLarge := func() ([]byte, bool) {
		s.refuseHTTP(w, r, st, http.StatusRequestEntityTooLarge, bodyTooLarge(s.maxBody), nil, nil)
		return nil, false
	}
	if r.ContentLength > s.maxBody {
		return tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge()
		}
		s.refuseHTTP(w, r, st, http.StatusBadRequest, &frameError{code: codeParseError, reason: CodeFrameParse, message: "could not read request body"}, err, nil)
		return nil, false
	}
	// The whole request is in; lift the read deadline so that it cannot
	// cancel the request context while a long call runs.
	if err := http.NewResponseController(w).SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.Debug("mcpserver: lift read deadline", "err", err)
	}
	return body, true
}

// authenticate resolves the request's bearer credential.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	bearer, err := bearerToken(r.Header)
	if err != nil {
		return auth.Principal{}, err
	}
	p, err := s.auth.Authenticate(r.Context(), bearer)
	if err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// missing is the error for a request without a usable bearer token.
func missing(reason string) error {
	return &auth.Error{Code: auth.CodeMissing, Public: "no credential presented", Err: errors.New(reason)}
}

// bearerToken reads the one Authorization header, which must use the Bearer
// scheme.
func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", missing("no Authorization header")
	case 1:
	default:
		return "", missing("more than one Authorization header")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", missing("Authorization is not a Bearer token")
	}
	return token, nil
}

// refuseUnauthenticated answers 401 (503 when authentication itself is
// unavailable) and records the refusal, whatever the request was: the
// message is read (within the cap) only to say what was refused.
func (s *Server) refuseUnauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	code := auth.CodeInvalid
	if c, ok := errors.AsType[coded](err); ok && strings.HasPrefix(c.ReasonCode(), "auth.") {
		code = c.ReasonCode()
	}
	message := authMessage(code)
	if pm, ok := errors.AsType[publicMessager](err); ok && pm.PublicMessage() != "" {
		message = pm.PublicMessage()
	}
	st := httpState(r)
	st.session = r.Header.Get(server.HeaderKeySessionID)
	var body []byte
	var f *frame
	if r.Method == http.MethodPost && r.ContentLength <= s.maxBody {
		if b, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody)); rerr == nil {
			body = b
			f, _ = parseFrame(body, s.maxBody)
		}
	}
	st.frame = f
	s.log.Warn("mcpserver: unauthenticated request refused", "code", code, "remote", r.RemoteAddr, "user_agent", r.UserAgent(), "http_method", r.Method, "err", err)
	s.refuse(r.Context(), st, code, err, body)

	if code == auth.CodeUnavailable {
		w.Header().Set("Retry-After", "5")
		writeJSONRPCError(w, http.StatusServiceUnavailable, frameID(f), int(mcp.INTERNAL_ERROR), code, message)
		return
	}
	var params []string
	if s.metadataURL != "" {
		params = append(params, `resource_metadata="`+s.metadataURL+`"`)
	}
	if code != auth.CodeMissing {
		params = append(params, `error="invalid_token"`, `error_description="`+quotable(message)+`"`)
	}
	challenge := "Bearer"
	if len(params) > 0 {
		challenge += " " + strings.Join(params, ", ")
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSONRPCError(w, http.StatusUnauthorized, frameID(f), codeUnauthorized, code, "unauthorized: "+message)
}

// authMessage is the public text of an authentication failure whose error
// brings none.
func authMessage(code string) string {
	switch code {
	case auth.CodeMissing:
		return "no credential presented"
	case auth.CodeExpired:
		return "credential expired or not yet valid"
	case auth.CodeAudience:
		return "token not issued for this service"
	case auth.CodeUnavailable:
		return "authentication is unavailable, try again later"
	}
	return "credential not accepted"
}

// quotable keeps the characters allowed in an RFC 6750 error_description.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0x20 || r == 0x21 || (r >= 0x23 && r <= 0x5B) || (r >= 0x5D && r <= 0x7E) {
			return r
		}
		return -1
	}, s)
}

// originAllowed applies the Origin policy: absent is fine (not a browser),
// "null", several values or an origin not in Config.AllowedOrigins are not.
func (s *Server) originAllowed(r *http.Request) bool {
	values := r.Header.Values("Origin")
	switch len(values) {
	case 0:
		return true
	case 1:
	default:
		return false
	}
	norm, err := normalizeOrigin(values[0])
	return err == nil && s.origins[norm]
}

// normalizeOrigin checks a serialized origin (scheme://host[:port]) and
// lower-cases it. "null" is an error.
func normalizeOrigin(o string) (string, error) {
	if o == "" || o == "null" {
		return "", fmt.Errorf("origin %q is not allowed", o)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("origin %q is not of the form scheme://host[:port]", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// hostAllowed protects loopback listeners against DNS rebinding: a request
// that arrived on a loopback address must name localhost, 127.0.0.1 or
// [::1], with the listener's port.
func hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return true // not from a listener, e.g. a direct ServeHTTP call
	}
	lhost, lport, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(lhost)
	if ip == nil || !ip.IsLoopback() {
		return true
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, ""
		if strings.HasPrefix(host, "[") {
			return false // bracketed IPv6 needs a port to be well formed here
		}
	}
	switch {
	case strings.EqualFold(host, "localhost"), host == "127.0.0.1", host == "::1":
	default:
		return false
	}
	if port == "" {
		return lport == "80"
	}
	return port == lport
}

// writeJSONRPCError writes a JSON-RPC error body with an HTTP status.
func writeJSONRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, reason, message string) {
	writeJSON(w, status, errorReply(id, code, reason, message))
}

// writeFrameError writes the reply of a refused message.
func writeFrameError(w http.ResponseWriter, status int, fe *frameError) {
	writeJSON(w, status, fe.reply())
}

// writeJSON writes one JSON body, newline-terminated, with an HTTP status.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// checkPost applies the Streamable HTTP rules to a POSTed message, before
// it is served here or by mcp-go: a JSON body, a protocol version the
// server speaks and, for protocol 2026-07-28 and later, the version header
// agreeing with the message and the standard Mcp-Method and Mcp-Name
// headers naming what the body names.
func checkPost(r *http.Request, st *reqState) (int, *frameError) {
	f := st.frame
	refuse := func(reason, format string, args ...any) (int, *frameError) {
		return http.StatusBadRequest, &frameError{code: codeInvalidRequest, reason: reason, message: clip(fmt.Sprintf(format, args...)), id: f.id}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return refuse(CodeProtocolContentType, "invalid request: Content-Type must be application/json")
	}
	header := st.headerProto
	if !st.modern() {
		if header != "" && !mcp.IsValidProtocolVersion(header) && f.method != string(mcp.MethodInitialize) {
			return refuse(CodeProtocolVersion, "unsupported protocol version %q", header)
		}
		return 0, nil
	}
	switch {
	case r.Header.Get(mcp.HeaderLastEventID) != "":
		return refuse(CodeProtocolVersion, "Last-Event-ID is not supported in protocol version %s", f.metaProtocol)
	case header == "":
		return refuse(CodeProtocolVersion, "%s header is required for requests carrying %s", mcp.HeaderProtocolVersion, mcp.MetaKeyProtocolVersion)
	case f.kind != kindResponse && f.metaProtocol == "":
		return refuse(CodeProtocolVersion, "missing _meta field %s", mcp.MetaKeyProtocolVersion)
	case f.kind != kindResponse && header != f.metaProtocol:
		return refuse(CodeProtocolVersion, "%s header %q does not match the message's %q", mcp.HeaderProtocolVersion, header, f.metaProtocol)
	case !mcp.IsValidProtocolVersion(header):
		return refuse(CodeProtocolVersion, "unsupported protocol version %q", header)
	}
	if f.kind == kindRequest && mcp.RequiresStandardHeaders(header) {
		if got := r.Header.Get(mcp.HeaderMethod); got != f.method {
			return refuse(CodeProtocolHeaders, "%s header %q does not match the message's method %q", mcp.HeaderMethod, got, f.method)
		}
		if f.method == methodToolsCall {
			name, ok := mcp.DecodeHeaderValue(r.Header.Get(mcp.HeaderName))
			if !ok || name != f.toolName {
				return refuse(CodeProtocolHeaders, "%s header does not name the tool the message calls", mcp.HeaderName)
			}
		}
	}
	return 0, nil
}

func frameID(f *frame) json.RawMessage {
	if f == nil {
		return nil
	}
	return f.id
}
