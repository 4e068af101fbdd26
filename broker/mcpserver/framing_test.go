package mcpserver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveRaw serves s on a loopback listener as cmd/toolwarden does, and
// returns its address.
func serveRaw(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(s.Listener(ln))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// rawExchange writes req on a fresh connection and reads every response
// the server sends before it closes the connection or goes quiet.
func rawExchange(t *testing.T, addr, req string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp)
	}
}

// TestAmbiguousFramingRefused sends a request with both Content-Length
// and chunked Transfer-Encoding, with a second request smuggled behind
// its chunked body: one 400 answer, the connection closed, the smuggled
// request never served; and the refusal recorded.
func TestAmbiguousFramingRefused(t *testing.T) {
	s, core, _ := newTestServer(t, nil)
	addr := serveRaw(t, s)
	host := "Host: " + addr + "\r\n"
	smuggled := "GET /mcp HTTP/1.1\r\n" + host + "Authorization: Bearer " + tokenAlice + "\r\n\r\n"
	req := "POST /mcp HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"0\r\n\r\n" + smuggled
	resps := rawExchange(t, addr, req)
	if len(resps) != 1 || resps[0].StatusCode != http.StatusBadRequest {
		var codes []int
		for _, r := range resps {
			codes = append(codes, r.StatusCode)
		}
		t.Fatalf("responses = %v, want exactly one 400", codes)
	}
	found := false
	for _, r := range core.refusalList() {
		if r.Code == CodeAmbiguousFraming {
			found = true
		}
	}
	if !found {
		t.Errorf("refusal not recorded: %+v", core.refusalList())
	}

	// Plain keep-alive pipelining, each framed once, is served as ever.
	body := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	one := "POST /mcp HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	chunk := "POST /mcp HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
	if resps := rawExchange(t, addr, one+chunk+one); len(resps) != 3 {
		t.Errorf("three pipelined requests got %d responses", len(resps))
	}
}

// TestServerLevelRefusalsRecorded sends requests net/http refuses on its
// own, before any handler runs: each gets net/http's answer, and each is
// recorded (protocol.bad_request) with what net/http said; a request the
// handler answers is not recorded as one.
func TestServerLevelRefusalsRecorded(t *testing.T) {
	s, core, _ := newTestServer(t, nil)
	addr := serveRaw(t, s)
	host := "Host: " + addr + "\r\n"
	tests := []struct {
		name, req string
		status    int
	}{
		{"transfer coding not implemented", "POST /mcp HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", http.StatusNotImplemented},
		{"malformed header line", "POST /mcp HTTP/1.1\r\n" + host + "No colon here\r\n\r\n", http.StatusBadRequest},
		{"two Host headers", "POST /mcp HTTP/1.1\r\n" + host + host + "\r\n", http.StatusBadRequest},
		{"head too large", "POST /mcp HTTP/1.1\r\n" + host + "X-Pad: " + strings.Repeat("a", MaxHeaderBytes+8192) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countRefusals(core, CodeBadRequest)
			resps := rawExchange(t, addr, tc.req)
			if len(resps) != 1 || resps[0].StatusCode != tc.status {
				t.Fatalf("got %d responses (first %v), want one %d", len(resps), resps, tc.status)
			}
			if got := countRefusals(core, CodeBadRequest); got != before+1 {
				t.Errorf("%s refusals: %d → %d, want one more", CodeBadRequest, before, got)
			}
		})
	}
	before := countRefusals(core, CodeBadRequest)
	rawExchange(t, addr, "PUT /mcp HTTP/1.1\r\n"+host+"Content-Length: 0\r\nConnection: close\r\n\r\n")
	if got := countRefusals(core, CodeBadRequest); got != before {
		t.Errorf("a handler's 405 was recorded as %s", CodeBadRequest)
	}
}

func countRefusals(core *fakeCore, code string) int {
	n := 0
	for _, r := range core.refusalList() {
		if r.Code == code {
			n++
		}
	}
	return n
}

// FuzzFraming feeds the framing watch the bytes of a connection in
// arbitrary chunks: it must never panic, never count a negative length, and
// flag a head stating both Content-Length and Transfer-Encoding wherever
// it starts the stream.
func FuzzFraming(f *testing.F) {
	f.Add([]byte("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"), uint8(3))
	f.Add([]byte("POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"), uint8(1))
	f.Add([]byte("POST /mcp HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), uint8(7))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"), uint8(2))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		c := &framingConn{}
		n := int(step%64) + 1
		for rest := data; len(rest) > 0; {
			k := min(n, len(rest))
			c.follow(rest[:k])
			rest = rest[k:]
			if c.left < 0 {
				t.Fatalf("left = %d after %q", c.left, data)
			}
		}
		head, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
		if !ok || len(head) > maxHeadBytes {
			return
		}
		var cl, te bool
		for _, l := range bytes.Split(head, []byte("\r\n"))[1:] {
			name, _, found := bytes.Cut(l, []byte(":"))
			switch name = bytes.TrimSpace(name); {
			case !found:
			case bytes.EqualFold(name, []byte("Content-Length")):
				cl = true
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				te = true
			}
		}
		if cl && te && !c.ambiguous.Load() {
			t.Fatalf("a first head with Content-Length and Transfer-Encoding not flagged: %q", head)
		}
	})
}
