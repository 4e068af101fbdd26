package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Reason codes of requests refused at the HTTP layer, or by mcp-go.
const (
	CodeProtocolOrigin = "protocol.origin" // a browser Origin that is not allowed (or "null")
	CodeProtocolHost   = "protocol.host"   // a Host header that does not name a loopback listener (DNS rebinding)
	CodeProtocolMethod = "protocol.method" // an HTTP method the endpoint does not serve
	CodeProtocolPath   = "protocol.path"   // a path the server does not serve

	CodeMethodNotFound = "protocol.method_not_found" // a JSON-RPC method the server does not serve
	CodeInvalidParams  = "protocol.invalid_params"   // params mcp-go could not use
	CodeProtocolError  = "protocol.error"            // any other JSON-RPC error mcp-go answered with
)

// refuse records a refused request through the broker. st may be nil or
// hold no principal (before authentication); payload is the message as
// received, if it was read.
func (s *Server) refuse(ctx context.Context, st *reqState, code string, cause error, payload []byte) {
	r := broker.Refusal{Code: code, Cause: cause, Payload: payload}
	if st != nil {
		r.Principal = st.principal
		r.Meta = st.meta()
		if f := st.frame; f != nil {
			r.Method = f.method
			r.Tool = f.toolName
		}
	}
	if err := s.core.Refuse(context.WithoutCancel(ctx), r); err != nil {
		s.log.Error("mcpserver: could not record a refused request", "code", code, "remote", r.Meta.RemoteAddr, "err", err)
	}
}

// refuseConn records a request net/http refused before any handler saw it:
// all that is known of it is the connection's remote address.
func (s *Server) refuseConn(remote net.Addr, cause error) {
	st := &reqState{transport: TransportHTTP}
	if remote != nil {
		st.remoteAddr = remote.String()
	}
	s.refuse(context.Background(), st, CodeBadRequest, cause, nil)
}

// httpState is what is known of an HTTP request before it is
// authenticated and read.
func httpState(r *http.Request) *reqState {
	return &reqState{
		transport:   TransportHTTP,
		remoteAddr:  r.RemoteAddr,
		userAgent:   r.UserAgent(),
		headerProto: r.Header.Get(mcp.HeaderProtocolVersion),
	}
}

// refuseHTTP records a refused HTTP request and answers it with a JSON-RPC
// error carrying the reason in its data: the record is written before the
// reply leaves, as a call's is.
func (s *Server) refuseHTTP(w http.ResponseWriter, r *http.Request, st *reqState, status int, fe *frameError, cause error, payload []byte) {
	if cause == nil {
		cause = fe
	}
	s.refuse(r.Context(), st, fe.reason, cause, payload)
	writeFrameError(w, status, fe)
}

// mcpError is mcp-go's JSON-RPC error reply, read back to give it a reason
// and a record.
type mcpError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   *struct {
		strictjson.Open
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// reasonOfMCPError is the reason code of a JSON-RPC error code mcp-go
// answered with.
func reasonOfMCPError(code int) string {
	switch code {
	case int(mcp.METHOD_NOT_FOUND):
		return CodeMethodNotFound
	case int(mcp.INVALID_PARAMS):
		return CodeInvalidParams
	case codeParseError:
		return CodeFrameParse
	case codeInvalidRequest:
		return CodeFrameInvalid
	}
	return CodeProtocolError
}

// reasonedReply returns reply, a JSON-RPC message mcp-go wrote, with a
// reason added to it if it is an error, and that reason ("" for a reply
// that is no error).
func reasonedReply(reply []byte) ([]byte, string, string) {
	if !bytes.Contains(reply, []byte(`"error"`)) {
		return reply, "", ""
	}
	var m mcpError
	if err := strictjson.Unmarshal(bytes.TrimSpace(reply), &m, strictjson.Limits{MaxBytes: len(reply) + 1, AllowUnknownFields: true}); err != nil || m.Error == nil {
		return reply, "", ""
	}
	reason := reasonOfMCPError(m.Error.Code)
	id := m.ID
	if len(id) == 0 {
		id = nil
	}
	return errorReply(id, m.Error.Code, reason, clip(m.Error.Message)), reason, m.Error.Message
}

// captureWriter holds back a JSON reply mcp-go writes, so that an error can
// get its reason before it leaves; anything else (an SSE stream) passes
// through as written.
type captureWriter struct {
	http.ResponseWriter
	status int
	held   bool
	buf    bytes.Buffer
}

func (c *captureWriter) WriteHeader(status int) {
	if c.status != 0 {
		return
	}
	c.status = status
	if ct := c.Header().Get("Content-Type"); len(ct) >= 16 && ct[:16] == "application/json" {
		c.held = true
		return
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.held {
		return c.buf.Write(p)
	}
	return c.ResponseWriter.Write(p)
}

// Flush passes a stream's flushes through; a held reply is flushed at the
// end.
func (c *captureWriter) Flush() {
	if c.held {
		return
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the real writer.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// finish writes a held reply, with a reason if it is an error; record is
// called with that reason and the error's message first, so that the
// refusal is in the log before the reply leaves.
func (c *captureWriter) finish(record func(reason, message string)) {
	if !c.held {
		return
	}
	out, reason, message := reasonedReply(c.buf.Bytes())
	if reason != "" {
		record(reason, message)
		out = append(out, '\n')
		c.Header().Del("Content-Length")
	}
	c.ResponseWriter.WriteHeader(c.status)
	_, _ = c.ResponseWriter.Write(out)
}
