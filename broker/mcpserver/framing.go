package mcpserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// CodeAmbiguousFraming is the reason code of a request whose length is
// stated twice, by Content-Length and by Transfer-Encoding: how much of
// the connection belongs to it depends on which one a reader believes,
// the mark of request smuggling.
const CodeAmbiguousFraming = "protocol.ambiguous_framing"

// CodeBadRequest is the reason code of a request net/http itself refused
// before any handler saw it: a malformed request line or header, a head
// past its size cap, a transfer coding it does not implement.
const CodeBadRequest = "protocol.bad_request"

// Listener returns ln with every accepted connection watched for
// ambiguous HTTP/1.1 framing: a request head carrying both Content-Length
// and Transfer-Encoding. net/http lets Transfer-Encoding win and serves
// what follows as another request; this server refuses the request with
// 400 (protocol.ambiguous_framing) and closes the connection instead, so
// nothing smuggled behind it is served. The watch also records the
// requests net/http refuses on its own, before any handler runs
// (protocol.bad_request), which would otherwise leave no trace. Serve
// HTTPServer on it.
func (s *Server) Listener(ln net.Listener) net.Listener { return framingListener{ln, s} }

type framingListener struct {
	net.Listener
	s *Server
}

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c, s: l.s}, nil
}

// framingKey carries a connection's *framingConn in its requests' contexts.
type framingKey struct{}

// connContext is the http.Server's ConnContext: it makes the connection's
// framing watch reachable from its requests.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingKey{}, fc)
	}
	return ctx
}

// ambiguousFraming reports whether the request's connection carried a
// request head with both Content-Length and Transfer-Encoding.
func ambiguousFraming(ctx context.Context) bool {
	fc, ok := ctx.Value(framingKey{}).(*framingConn)
	return ok && fc.ambiguous.Load()
}

// maxHeadBytes bounds a request head the watch accumulates; past it the
// server refuses the request anyway (MaxHeaderBytes).
const maxHeadBytes = MaxHeaderBytes + 4096

// framingConn follows the requests on a connection as the server reads
// them: heads, then bodies by Content-Length or chunked coding, so that it
// reads each head's header fields where they are.
type framingConn struct {
	net.Conn
	s         *Server
	ambiguous atomic.Bool

	mu    sync.Mutex // guards following (Read is not called concurrently, but Close may race a Read)
	state framingState
	head  []byte // the head read so far
	left  int64  // body bytes or chunk bytes left
	line  []byte // a chunk-size line read so far
	lost  bool   // the stream could not be followed: stop watching
}

type framingState int

const (
	inHead      framingState = iota
	inBody                   // left bytes of a Content-Length body
	inChunkSize              // a chunk-size line
	inChunk                  // left bytes of chunk data, then CRLF
	inChunkCRLF              // the CRLF after chunk data
	inTrailers               // trailer fields after the last chunk, up to an empty line
)

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.lost {
			c.follow(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// Write records a refusal net/http writes on its own. Its server-level
// error replies (malformed request, head too large, transfer coding not
// implemented) are written in one Write straight to the connection, as
// "HTTP/1.1 CODE TEXT" with a plain-text body and "Connection: close" and
// no Date header; a handler's reply always carries a Date header.
func (c *framingConn) Write(p []byte) (int, error) {
	if c.s != nil && bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		if head, body, ok := bytes.Cut(p, []byte("\r\n\r\n")); ok &&
			bytes.Contains(head, []byte("\r\nConnection: close")) && !bytes.Contains(head, []byte("\r\nDate: ")) {
			line, _, _ := bytes.Cut(head, []byte("\r\n"))
			c.s.refuseConn(c.RemoteAddr(), fmt.Errorf("net/http refused the request: %s (%s)", bytes.TrimPrefix(line, []byte("HTTP/1.1 ")), clip(string(body))))
		}
	}
	return c.Conn.Write(p)
}

// follow feeds b, the next bytes of the connection, to the state machine.
func (c *framingConn) follow(b []byte) {
	for len(b) > 0 && !c.lost {
		switch c.state {
		case inHead:
			c.head = append(c.head, b...)
			b = nil
			i := bytes.Index(c.head, []byte("\r\n\r\n"))
			if i < 0 {
				if len(c.head) > maxHeadBytes {
					c.lost = true
				}
				continue
			}
			rest := c.head[i+4:]
			c.endHead(c.head[:i])
			b, c.head = bytes.Clone(rest), nil
		case inBody:
			k := min(int64(len(b)), c.left)
			c.left -= k
			b = b[k:]
			if c.left == 0 {
				c.state = inHead
			}
		case inChunkSize, inTrailers:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				c.line = append(c.line, b...)
				if len(c.line) > 4096 && c.state == inChunkSize {
					c.lost = true
				}
				b = nil
				continue
			}
			c.line = append(c.line, b[:i+1]...)
			b = b[i+1:]
			line := bytes.TrimRight(c.line, "\r\n")
			c.line = c.line[:0]
			if c.state == inTrailers {
				if len(line) == 0 {
					c.state = inHead
				}
				continue
			}
			size, _, _ := bytes.Cut(line, []byte(";"))
			n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
			switch {
			case err != nil || n < 0:
				c.lost = true
			case n == 0:
				c.state = inTrailers
			default:
				c.state, c.left = inChunk, n
			}
		case inChunk:
			k := min(int64(len(b)), c.left)
			c.left -= k
			b = b[k:]
			if c.left == 0 {
				c.state, c.left = inChunkCRLF, 2
			}
		case inChunkCRLF:
			k := min(int64(len(b)), c.left)
			c.left -= k
			b = b[k:]
			if c.left == 0 {
				c.state = inChunkSize
			}
		}
	}
}

// endHead reads the header fields of a complete request head and sets
// the state for its body.
func (c *framingConn) endHead(head []byte) {
	var length int64 = -1
	chunked, hasLength := false, false
	lines := bytes.Split(head, []byte("\r\n"))
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		name, value = bytes.TrimSpace(name), bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			hasLength = true
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
				length = n
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = true
		}
	}
	switch {
	case hasLength && chunked:
		c.ambiguous.Store(true)
		c.lost = true // the request is refused and the connection closed
	case chunked:
		c.state = inChunkSize
	case length > 0:
		c.state, c.left = inBody, length
	default:
		c.state = inHead
	}
}
