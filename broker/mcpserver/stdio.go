package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
)

// maxStdioInFlight caps the requests of one stdio stream served at once;
// reading waits while the cap is reached.
const maxStdioInFlight = 32

// ServeStdio serves one MCP client that writes newline-delimited JSON-RPC
// messages to in and reads replies from out, as principal (resolved by the
// caller, e.g. from TOOLWARDEN_API_KEY). Each line is capped at
// Config.MaxFrameBytes and checked strictly before mcp-go sees it; a line
// that is too long or invalid gets a JSON-RPC error reply (with its id when
// the id could be read safely, else null) and the next line is served.
// Requests are served concurrently; every write to out is serialised, one
// message per line.
//
// ServeStdio returns nil at the end of in, once the requests already read
// have been answered; the error of a failed read or write; or ctx.Err()
// after ctx is cancelled, once the requests in flight have returned. A Read
// on in that is blocked when ctx is cancelled is left to finish when in is
// closed.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, principal auth.Principal) error {
	if in == nil || out == nil {
		return errors.New("mcpserver: ServeStdio needs an input and an output")
	}
	if principal.Tenant == "" || principal.Subject == "" {
		return errors.New("mcpserver: ServeStdio needs an authenticated principal (tenant and subject)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	sess := &stdioSession{
		id:            "stdio-" + rand.Text(),
		notifications: make(chan mcp.JSONRPCNotification, 64),
	}
	w := &lineWriter{w: out, onError: cancel}
	base := s.mcp.WithContext(ctx, sess)

	var requests sync.WaitGroup
	stopForward := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case n := <-sess.notifications:
				w.writeMessage(n)
			case <-stopForward:
				return
			}
		}
	}()

	frames := make(chan stdioLine)
	go readLines(ctx, in, s.maxFrame, frames)
	sem := make(chan struct{}, maxStdioInFlight)

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		case line := <-frames:
			if line.err != nil {
				if !errors.Is(line.err, io.EOF) {
					err = fmt.Errorf("mcpserver: read stdio: %w", line.err)
					cancel()
				}
				break loop
			}
			s.serveStdioLine(base, sess, principal, w, sem, &requests, line)
		}
	}
	requests.Wait()
	close(stopForward)
	<-forwarded
	if werr := w.failure(); werr != nil {
		return fmt.Errorf("mcpserver: write stdio: %w", werr)
	}
	return err
}

// serveStdioLine answers one line: an error for a refused line, inline
// handling for a notification, and a goroutine for a request.
func (s *Server) serveStdioLine(ctx context.Context, sess *stdioSession, p auth.Principal, w *lineWriter,
	sem chan struct{}, requests *sync.WaitGroup, line stdioLine) {
	base := &reqState{principal: p, transport: TransportStdio, session: sess.id}
	if line.oversize {
		fe := tooLarge(s.maxFrame)
		s.refuse(ctx, base, fe.reason, fe, nil)
		w.write(fe.reply())
		return
	}
	data := bytes.TrimSpace(line.data)
	if len(data) == 0 {
		return
	}
	f, ferr := parseFrame(data, s.maxFrame)
	if ferr != nil {
		s.refuse(ctx, base, ferr.reason, ferr, data)
		w.write(ferr.reply())
		return
	}
	if f.kind == kindResponse {
		// This server sends clients no requests, so there is nothing to
		// answer; a stray response is dropped.
		s.log.Debug("mcpserver: stdio response ignored", "id", f.idText)
		return
	}
	if f.method == string(mcp.MethodInitialize) {
		sess.recordInitialize(f)
	}
	st := &reqState{
		principal: p,
		transport: TransportStdio,
		session:   sess.id,
		frame:     f,
	}
	st.protocol, st.clientName, st.clientVersion = sess.client()
	rctx := withState(ctx, st)

	if f.kind == kindNotification {
		if resp := s.handleStdioMessage(rctx, st, data); resp != nil {
			w.write(resp)
		}
		return
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		w.write(errorReply(f.id, int(mcp.INTERNAL_ERROR), broker.CodeInternal, "server shutting down"))
		return
	}
	requests.Add(1)
	go func() {
		defer requests.Done()
		defer func() { <-sem }()
		if resp := s.handleStdioMessage(rctx, st, data); resp != nil {
			w.write(resp)
		}
	}()
}

// handleStdioMessage answers one checked message: a tools/call through
// the broker, anything else through mcp-go. A panic becomes an internal
// error reply.
func (s *Server) handleStdioMessage(ctx context.Context, st *reqState, data []byte) (resp []byte) {
	f := st.frame
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("mcpserver: panic serving stdio message", "method", f.method, "panic", r)
			resp = nil
			if f.kind == kindRequest {
				resp = errorReply(f.id, int(mcp.INTERNAL_ERROR), broker.CodeInternal, msgInternal)
			}
		}
	}()
	if f.kind == kindRequest && f.method == methodToolsCall {
		return s.serveCall(ctx, st)
	}
	msg := s.mcp.HandleMessage(ctx, data)
	if msg == nil {
		return nil
	}
	out, err := json.Marshal(msg)
	if err != nil {
		s.log.Error("mcpserver: encode reply", "method", f.method, "err", err)
		if f.kind == kindRequest {
			return errorReply(f.id, int(mcp.INTERNAL_ERROR), broker.CodeInternal, msgInternal)
		}
		return nil
	}
	if _, isErr := msg.(mcp.JSONRPCError); isErr {
		// An error mcp-go answered with (an unknown method, bad params)
		// gets its reason, and is recorded as a refusal.
		reasoned, reason, message := reasonedReply(out)
		if reason != "" {
			s.refuse(ctx, st, reason, fmt.Errorf("mcp-go: %s", message), data)
			return reasoned
		}
	}
	return out
}

// stdioLine is one line read from stdin, or the read error that ended it.
type stdioLine struct {
	data     []byte
	oversize bool
	err      error
}

// readLines reads newline-delimited frames, each capped at max bytes
// (a trailing "\r\n" or "\n" not counted), and sends them until the input
// ends, fails, or ctx is done.
func readLines(ctx context.Context, in io.Reader, max int64, out chan<- stdioLine) {
	br := bufio.NewReaderSize(in, 64<<10)
	send := func(l stdioLine) bool {
		select {
		case out <- l:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		data, oversize, err := readLine(br, max)
		if len(data) > 0 || oversize {
			if !send(stdioLine{data: data, oversize: oversize}) {
				return
			}
		}
		if err != nil {
			send(stdioLine{err: err})
			return
		}
	}
}

// readLine reads up to and including the next '\n'. A line longer than max
// is read to its end and discarded, and reported oversize; at most max+2
// bytes are held at once.
func readLine(br *bufio.Reader, max int64) (line []byte, oversize bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !oversize {
			if int64(len(line)+len(chunk)) > max+2 {
				oversize, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if !oversize {
			trimmed := bytes.TrimRight(line, "\r\n")
			if int64(len(trimmed)) > max {
				oversize, line = true, nil
			} else {
				line = trimmed
			}
		}
		return line, oversize, err
	}
}

// lineWriter serialises messages onto out, one per line. After the first
// failed write it drops everything and calls onError once.
type lineWriter struct {
	w       io.Writer
	onError func()

	mu  sync.Mutex // guards following
	err error
}

func (lw *lineWriter) writeMessage(msg any) {
	data, err := json.Marshal(msg)
	if err != nil {
		lw.fail(fmt.Errorf("encode reply: %w", err))
		return
	}
	lw.write(data)
}

func (lw *lineWriter) write(data []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil {
		return
	}
	buf := make([]byte, 0, len(data)+1)
	buf = append(append(buf, data...), '\n')
	if _, err := lw.w.Write(buf); err != nil {
		lw.err = err
		lw.onError()
	}
}

func (lw *lineWriter) fail(err error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err == nil {
		lw.err = err
		lw.onError()
	}
}

func (lw *lineWriter) failure() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.err
}

// stdioSession is the mcp-go session of one ServeStdio stream.
type stdioSession struct {
	id            string
	notifications chan mcp.JSONRPCNotification
	initialized   atomic.Bool

	mu            sync.Mutex // guards following
	info          mcp.Implementation
	caps          mcp.ClientCapabilities
	version       string // negotiated by mcp-go
	protocol      string // negotiated, from this package's reading of initialize
	clientName    string
	clientVersion string
}

var (
	_ server.SessionWithClientInfo      = (*stdioSession)(nil)
	_ server.SessionWithProtocolVersion = (*stdioSession)(nil)
)

func (s *stdioSession) SessionID() string { return s.id }
func (s *stdioSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	return s.notifications
}
func (s *stdioSession) Initialize()       { s.initialized.Store(true) }
func (s *stdioSession) Initialized() bool { return s.initialized.Load() }

func (s *stdioSession) GetClientInfo() mcp.Implementation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

func (s *stdioSession) SetClientInfo(info mcp.Implementation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.info = info
}

func (s *stdioSession) GetClientCapabilities() mcp.ClientCapabilities {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps
}

func (s *stdioSession) SetClientCapabilities(caps mcp.ClientCapabilities) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caps = caps
}

func (s *stdioSession) ProtocolVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func (s *stdioSession) SetProtocolVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// recordInitialize keeps the client identity and protocol of an initialize
// message for the audit metadata of later calls.
func (s *stdioSession) recordInitialize(f *frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protocol = mcp.NegotiateLegacyVersion(f.initProtocol)
	s.clientName, s.clientVersion = f.initClientName, f.initClientVersion
}

func (s *stdioSession) client() (protocol, name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protocol, s.clientName, s.clientVersion
}
