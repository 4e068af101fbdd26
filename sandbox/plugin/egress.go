package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// maxProxyRequestBytes caps one egress request as the proxy reads it; the
// egress client caps the request bytes of a call far lower by default.
const maxProxyRequestBytes = 16 << 20

// proxy is the egress proxy of one plugin process: an HTTP server on a
// Unix socket inside the plugin's sandbox, the plugin's only way out.
// Each request is an egress ABI v1 [egress.Request] in JSON, decoded
// strictly, and is made by the [egress.Client] of the call in progress.
type proxy struct {
	base egress.Config
	srv  *http.Server
	ln   net.Listener
	done chan struct{}

	mu   sync.Mutex // guards following
	call *proxyCall
}

// proxyCall is the egress state of one tool call.
type proxyCall struct {
	ctx      context.Context
	patterns []string
	once     sync.Once
	client   *egress.Client
	err      error
}

// newProxy serves on ln until close.
func newProxy(ln net.Listener, base egress.Config) *proxy {
	p := &proxy{base: base, ln: ln, done: make(chan struct{})}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	return p
}

// begin opens the egress window of a call granted patterns.
func (p *proxy) begin(ctx context.Context, patterns []string) {
	p.mu.Lock()
	p.call = &proxyCall{ctx: ctx, patterns: patterns}
	p.mu.Unlock()
}

// end closes the window and returns the call's attempts.
func (p *proxy) end() []sandbox.EgressAttempt {
	p.mu.Lock()
	c := p.call
	p.call = nil
	p.mu.Unlock()
	if c == nil || c.client == nil {
		return nil
	}
	return c.client.Attempts()
}

// current returns the call's egress client, made on first use.
func (p *proxy) current() (*proxyCall, *egress.Client, error) {
	p.mu.Lock()
	c := p.call
	p.mu.Unlock()
	if c == nil {
		return nil, nil, &sandbox.Error{Code: sandbox.CodeEgressDenied, Public: "no tool call is in progress"}
	}
	c.once.Do(func() {
		allow, err := egress.ParseAllowlist(c.patterns)
		if err != nil {
			c.err = fmt.Errorf("plugin: the call's egress grant: %w", err)
			return
		}
		cfg := p.base
		cfg.Allow = allow
		c.client, c.err = egress.New(cfg)
	})
	return c, c.client, c.err
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, rep abi.Reply) {
		data, err := json.Marshal(rep)
		if err != nil {
			status, data = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"cannot encode the reply"}}`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(data)
	}
	fail := func(status int, err error) {
		pe := &abi.Error{Code: "internal", Message: "internal error"}
		if se, ok := errors.AsType[*sandbox.Error](err); ok {
			pe = &abi.Error{Code: se.Code, Message: se.Public}
		}
		reply(status, abi.Reply{Error: pe})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/request" {
		fail(http.StatusNotFound, &sandbox.Error{Code: egress.CodeInvalidRequest, Public: "the egress proxy serves POST /v1/request only"})
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxProxyRequestBytes+1))
	if err != nil || len(data) > maxProxyRequestBytes {
		fail(http.StatusRequestEntityTooLarge, &sandbox.Error{Code: egress.CodeRequestTooLarge, Public: "the egress request is too large"})
		return
	}
	call, client, err := p.current()
	if err != nil {
		fail(http.StatusForbidden, err)
		return
	}
	req, err := abi.DecodeRequest(data)
	if err != nil {
		fail(http.StatusBadRequest, client.Unreadable(err))
		return
	}
	res, err := client.Do(call.ctx, req)
	rep := abi.Reply{Response: res}
	if err != nil {
		pe := &abi.Error{Code: "internal", Message: "internal error"}
		if se, ok := errors.AsType[*sandbox.Error](err); ok {
			pe = &abi.Error{Code: se.Code, Message: se.Public}
		}
		rep.Error = pe
	}
	reply(http.StatusOK, rep)
}

// close stops the server and waits for it.
func (p *proxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
	<-p.done
}
