package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// Defaults for the zero fields of [Config].
const (
	DefaultMaxRequests      = 16
	DefaultMaxRequestBytes  = 1 << 20
	DefaultMaxResponseBytes = 4 << 20
	DefaultRequestTimeout   = 10 * time.Second
	DefaultMaxRedirects     = 5
)

// maxResponseHeaderBytes bounds the response header block of every hop.
const maxResponseHeaderBytes = 64 << 10

// Request is one HTTP request a tool asks for: the request half of the
// egress ABI v1 (see package sandbox/abi). A method other than GET, HEAD,
// POST, PUT, PATCH, DELETE or OPTIONS, a URL [Check] refuses and framing or
// proxy headers are [CodeInvalidRequest]; the body counts against
// Config.MaxRequestBytes.
type Request = abi.Request

// Response is the reply to a [Request], after redirects: the response half
// of the egress ABI v1. When Truncated is set, Do also returns a
// [CodeResponseTooLarge] error.
type Response = abi.Response

// Attempt records one request a call tried to make, allowed or refused. It
// is [sandbox.EgressAttempt], so a runtime copies [Client.Attempts] into
// [sandbox.Result].Egress unchanged:
//   - Host, Port: the normalised destination (best effort for a URL that
//     did not parse);
//   - Address: the resolved address actually dialled, empty when nothing
//     was dialled;
//   - Allowed: whether the grant and address rules let the request
//     through;
//   - Reason: the code of the error that ended the attempt, whether it was
//     refused (egress.denied_host, ...) or failed after being allowed
//     (egress.timeout, egress.response_too_large, ...); empty on success;
//   - BytesOut, BytesIn: bytes written to and read from the connection,
//     TLS and HTTP framing included.
type Attempt = sandbox.EgressAttempt

// Config configures a [Client]. Limits apply to the whole call, i.e. to
// the Client's lifetime: make one Client per tool call.
type Config struct {
	// Allow is the call's grant. Required: nil is an error (an empty
	// Allowlist allows nothing).
	Allow *Allowlist
	// Resolver resolves host names. Nil means net.DefaultResolver.
	Resolver Resolver
	// MaxRequests caps the attempts of the call, refused ones and redirect
	// hops included. Zero means [DefaultMaxRequests].
	MaxRequests int
	// MaxRequestBytes caps the request bytes of the call: method, URL,
	// header names and values, and body, summed over every hop. Zero means
	// [DefaultMaxRequestBytes].
	MaxRequestBytes int64
	// MaxResponseBytes caps the response body bytes of the call, summed
	// over every response. Zero means [DefaultMaxResponseBytes].
	MaxResponseBytes int64
	// RequestTimeout bounds each Do, redirects and body included. Zero
	// means [DefaultRequestTimeout].
	RequestTimeout time.Duration
	// MaxRedirects caps the redirects one Do follows. Zero means
	// [DefaultMaxRedirects].
	MaxRedirects int
	// TLSConfig is the TLS client configuration (tests use it to trust a
	// test server). Nil means Go's defaults. ServerName is ignored: it is
	// always the checked host.
	TLSConfig *tls.Config
}

// Client makes HTTP requests for one tool call, under the call's grant and
// caps, and records every attempt.
//
// # Notes
//
// A Client is safe for concurrent use. It keeps no connections between
// requests (each hop dials afresh), so it needs no Close.
type Client struct {
	dialer           *Dialer
	allow            *Allowlist
	maxRequests      int
	maxRequestBytes  int64
	maxResponseBytes int64
	timeout          time.Duration
	maxRedirects     int
	tls              *tls.Config

	mu         sync.Mutex // guards following
	requests   int
	bytesOut   int64
	bytesIn    int64
	overflowed bool
	attempts   []Attempt
}

// New returns a Client for cfg. A negative limit is an error naming the
// field.
func New(cfg Config) (*Client, error) {
	if cfg.Allow == nil {
		return nil, errors.New("egress: Config.Allow is nil")
	}
	switch {
	case cfg.MaxRequests < 0:
		return nil, errors.New("egress: Config.MaxRequests is negative")
	case cfg.MaxRequestBytes < 0:
		return nil, errors.New("egress: Config.MaxRequestBytes is negative")
	case cfg.MaxResponseBytes < 0:
		return nil, errors.New("egress: Config.MaxResponseBytes is negative")
	case cfg.RequestTimeout < 0:
		return nil, errors.New("egress: Config.RequestTimeout is negative")
	case cfg.MaxRedirects < 0:
		return nil, errors.New("egress: Config.MaxRedirects is negative")
	}
	d, err := NewDialer(DialerConfig{Allow: cfg.Allow, Resolver: cfg.Resolver})
	if err != nil {
		return nil, err
	}
	c := &Client{
		dialer:           d,
		allow:            cfg.Allow,
		maxRequests:      orDefault(cfg.MaxRequests, DefaultMaxRequests),
		maxRequestBytes:  orDefault(cfg.MaxRequestBytes, DefaultMaxRequestBytes),
		maxResponseBytes: orDefault(cfg.MaxResponseBytes, DefaultMaxResponseBytes),
		timeout:          orDefault(cfg.RequestTimeout, DefaultRequestTimeout),
		maxRedirects:     orDefault(cfg.MaxRedirects, DefaultMaxRedirects),
	}
	if cfg.TLSConfig != nil {
		c.tls = cfg.TLSConfig.Clone()
		c.tls.ServerName = ""
	}
	return c, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Attempts returns a copy of the attempts made so far, in the order they
// began. An attempt still in flight shows what is known of it.
func (c *Client) Attempts() []Attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.attempts)
}

// Do sends req, following at most Config.MaxRedirects redirects, each hop
// checked afresh against the grant and the address rules, and returns the
// final response. Every error is a *[sandbox.Error] with one of this
// package's codes. On [CodeResponseTooLarge] Do returns both the
// truncated Response and the error.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	method, header, reqErr := checkRequest(req)
	body := req.Body
	rawURL := req.URL
	var prev Target
	for hop := 0; ; hop++ {
		t, err := parseTarget(rawURL)
		idx, limitErr := c.begin(t)
		if limitErr != nil {
			return nil, limitErr
		}
		switch {
		case hop > c.maxRedirects:
			err = newError(CodeRedirects, "more than "+strconv.Itoa(c.maxRedirects)+" redirects", nil)
		case reqErr != nil:
			err = reqErr
		}
		if err != nil {
			return nil, c.end(idx, err)
		}
		if hop > 0 && (t.Scheme != prev.Scheme || t.Host != prev.Host || t.Port != prev.Port) {
			header = header.Clone()
			for _, k := range crossOriginDrop {
				header.Del(k)
			}
		}
		res, status, loc, err := c.exchange(ctx, idx, t, method, header, body)
		if err != nil || loc == "" {
			return res, err
		}
		next, err := t.URL().Parse(loc)
		if err != nil {
			rawURL = loc // refused as invalid in the next hop, and recorded there
		} else {
			rawURL = next.String()
		}
		if status != http.StatusTemporaryRedirect && status != http.StatusPermanentRedirect {
			if method != http.MethodHead {
				method = http.MethodGet
			}
			body = nil
		}
		prev = t
	}
}

// crossOriginDrop lists the request headers a redirect to another origin
// does not carry.
var crossOriginDrop = []string{"Authorization", "Cookie", "Cookie2", "Www-Authenticate"}

var allowedMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// refusedHeaders are request headers a tool may not set: framing,
// hop-by-hop and proxy headers belong to the client.
var refusedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Proxy-Authorization": true, "Proxy-Authenticate": true, "Te": true,
	"Trailer": true, "Upgrade": true, "Expect": true,
}

// checkRequest validates the method and headers of req and returns them
// in the form the transport takes.
func checkRequest(req Request) (string, http.Header, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !slices.Contains(allowedMethods, method) {
		return "", nil, newError(CodeInvalidRequest, "method "+strconv.Quote(recordHost(method))+" is not allowed", nil)
	}
	header := make(http.Header, len(req.Headers))
	// Sorted, so that names differing only in case merge in one order and
	// the first invalid header reported is always the same.
	for _, k := range slices.Sorted(maps.Keys(req.Headers)) {
		vs := req.Headers[k]
		if !validToken(k) {
			return "", nil, newError(CodeInvalidRequest, "invalid header name "+strconv.Quote(recordHost(k)), nil)
		}
		ck := http.CanonicalHeaderKey(k)
		if refusedHeaders[ck] || len(ck) > 6 && ck[:6] == "Proxy-" {
			return "", nil, newError(CodeInvalidRequest, "header "+ck+" may not be set by a tool", nil)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return "", nil, newError(CodeInvalidRequest, "header "+ck+" has an invalid value", nil)
			}
			header[ck] = append(header[ck], v)
		}
	}
	return method, header, nil
}

// validToken reports whether s is an RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// UnreadableHost is the Host of an attempt whose request could not be
// read: there is no host to name.
const UnreadableHost = "(unreadable request)"

// Unreadable records a request that could not be decoded as a refused
// attempt (CodeInvalidRequest, host [UnreadableHost]), counted against the
// request cap like any other, and returns the refusal with cause's
// message.
func (c *Client) Unreadable(cause error) error {
	err := newError(CodeInvalidRequest, cause.Error(), nil)
	idx, berr := c.begin(Target{Host: UnreadableHost})
	if berr != nil {
		return berr
	}
	return c.end(idx, err)
}

// begin reserves an attempt for t, or refuses it with
// CodeTooManyRequests. Only the first refusal past the cap is recorded, so
// a looping tool cannot grow the record without bound.
func (c *Client) begin(t Target) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests >= c.maxRequests {
		if !c.overflowed {
			c.overflowed = true
			c.attempts = append(c.attempts, Attempt{Host: t.Host, Port: t.Port, Reason: CodeTooManyRequests})
		}
		return -1, limitError(CodeTooManyRequests, "requests", int64(c.maxRequests))
	}
	c.requests++
	c.attempts = append(c.attempts, Attempt{Host: t.Host, Port: t.Port})
	return len(c.attempts) - 1, nil
}

// end records err's code as the reason of attempt idx and returns err.
func (c *Client) end(idx int, err error) error {
	se, ok := errors.AsType[*sandbox.Error](err)
	if !ok {
		se = newError(CodeConnect, "request failed", err)
	}
	c.mu.Lock()
	c.attempts[idx].Reason = se.Code
	c.mu.Unlock()
	return se
}

func (c *Client) update(idx int, f func(a *Attempt)) {
	c.mu.Lock()
	f(&c.attempts[idx])
	c.mu.Unlock()
}

// takeOut charges n request bytes to the call's budget.
func (c *Client) takeOut(n int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.maxRequestBytes-c.bytesOut {
		return limitError(CodeRequestTooLarge, "request bytes", c.maxRequestBytes)
	}
	c.bytesOut += n
	return nil
}

// takeIn charges up to n response bytes to the call's budget and returns
// how many it granted.
func (c *Client) takeIn(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(n, c.maxResponseBytes-c.bytesIn)
	c.bytesIn += n
	return n
}

func requestBytes(method string, t Target, header http.Header, body []byte) int64 {
	n := int64(len(method) + len(t.String()) + len(body))
	for k, vs := range header {
		for _, v := range vs {
			n += int64(len(k) + len(v))
		}
	}
	return n
}

// wire counts the bytes crossing one hop's connections.
type wire struct{ out, in atomic.Int64 }

type countConn struct {
	net.Conn
	w *wire
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.in.Add(int64(n))
	return n, err
}

// Write counts before writing: the peer may answer, and the exchange end,
// before a count taken after Write returned would be seen.
func (c *countConn) Write(p []byte) (int, error) {
	c.w.out.Add(int64(len(p)))
	n, err := c.Conn.Write(p)
	c.w.out.Add(int64(n - len(p)))
	return n, err
}

// exchange makes one hop: grant and size checks, one resolution with every
// address checked, then the HTTP exchange over a connection to a checked
// address. It returns the response, or the status and Location of a
// redirect to follow.
func (c *Client) exchange(ctx context.Context, idx int, t Target, method string, header http.Header, body []byte) (*Response, int, string, error) {
	if err := c.allow.CheckTarget(t); err != nil {
		return nil, 0, "", c.end(idx, err)
	}
	if err := c.takeOut(requestBytes(method, t, header, body)); err != nil {
		return nil, 0, "", c.end(idx, err)
	}
	addrs, err := c.dialer.resolve(ctx, t)
	if err != nil {
		return nil, 0, "", c.end(idx, err)
	}
	c.update(idx, func(a *Attempt) { a.Allowed = true })

	var w wire
	defer func() {
		c.update(idx, func(a *Attempt) { a.BytesOut, a.BytesIn = w.out.Load(), w.in.Load() })
	}()
	hostPort := t.HostPort()
	tr := &http.Transport{
		Proxy: nil, // never a proxy from the environment
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			if addr != hostPort {
				return nil, fmt.Errorf("egress: transport dialled %q, checked %q", addr, hostPort)
			}
			// ctx, not the transport's context: the dial ends with Do.
			conn, ap, err := c.dialer.dialChecked(ctx, addrs, t.Port)
			if err != nil {
				return nil, err
			}
			c.update(idx, func(a *Attempt) { a.Address = ap.String() })
			return &countConn{Conn: conn, w: &w}, nil
		},
		TLSClientConfig:        c.tls,
		TLSHandshakeTimeout:    c.timeout,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	defer tr.CloseIdleConnections()

	u := t.URL()
	hreq := (&http.Request{
		Method: method, URL: u, Host: u.Host, Header: header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}).WithContext(ctx)
	if len(body) > 0 {
		hreq.Body = io.NopCloser(bytes.NewReader(body))
		hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		hreq.ContentLength = int64(len(body))
	}
	resp, err := tr.RoundTrip(hreq)
	if err != nil {
		return nil, 0, "", c.end(idx, exchangeError(ctx, err))
	}
	defer resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" && isRedirect(resp.StatusCode) {
		return nil, resp.StatusCode, loc, nil
	}
	data, truncated, err := c.readBody(resp.Body, resp.ContentLength)
	if err != nil {
		return nil, 0, "", c.end(idx, exchangeError(ctx, err))
	}
	res := &Response{
		Status:    resp.StatusCode,
		URL:       t.String(),
		Headers:   map[string][]string(resp.Header.Clone()),
		Body:      data,
		Truncated: truncated,
	}
	if truncated {
		return res, 0, "", c.end(idx, limitError(CodeResponseTooLarge, "response bytes", c.maxResponseBytes))
	}
	return res, 0, "", nil
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// readBody reads r, charging every byte to the call's response budget, and
// stops at the first byte past it.
func (c *Client) readBody(r io.Reader, contentLength int64) ([]byte, bool, error) {
	// The announced length is the server's word: use it to size the first
	// buffer, but never to allocate more than a modest amount up front. One
	// spare byte lets the read see EOF (or a body longer than announced).
	size := int64(512)
	if contentLength >= 0 {
		size = min(contentLength, c.maxResponseBytes, 64<<10) + 1
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 512)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			granted := c.takeIn(int64(n))
			buf = buf[:len(buf)+int(granted)]
			if granted < int64(n) {
				return buf, true, nil
			}
		}
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}

// exchangeError codes an error from the HTTP exchange.
func exchangeError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return timeoutError(ctxErr)
	}
	if se, ok := errors.AsType[*sandbox.Error](err); ok {
		return se
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return newError(CodeTimeout, "request timed out", err)
	}
	return newError(CodeConnect, "request failed", err)
}
