package main_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/mark3labs/mcp-go/mcp"
)

// This file speaks the wire directly where mcp-go's client hides what the
// tests assert: HTTP status codes and headers, null-id error replies, and
// frames of an exact size. It also issues the JWTs.

// rpcError is the error member of a JSON-RPC reply.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// rpcReply is one JSON-RPC reply.
type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
}

// httpReply is a raw HTTP answer and the JSON-RPC reply in it, if any.
type httpReply struct {
	status int
	header http.Header
	body   []byte
	rpc    rpcReply
	isRPC  bool
}

// post sends body to url with hdr. A body that is not a *bytes.Reader is
// sent chunked, without a Content-Length.
func post(t *testing.T, url string, body io.Reader, hdr http.Header) httpReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) httpReply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	r := httpReply{status: resp.StatusCode, header: resp.Header, body: data}
	payload := data
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		payload = nil
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data:"); ok {
				payload = []byte(strings.TrimSpace(v)) // the last event is the reply
			}
		}
	}
	if json.Unmarshal(payload, &r.rpc) == nil && r.rpc.JSONRPC == "2.0" {
		r.isRPC = true
	}
	return r
}

// modernHeaders are the headers of a stateless 2026-07-28 request.
func modernHeaders(bearer, method, name string) http.Header {
	h := http.Header{}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	h.Set(mcp.HeaderProtocolVersion, protoModern)
	h.Set(mcp.HeaderMethod, method)
	if name != "" {
		h.Set(mcp.HeaderName, name)
	}
	return h
}

// rawClient is the clientInfo raw requests declare.
const rawClient = "e2e-raw"

// modernMeta is the _meta of a raw stateless request.
const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"` + protoModern +
	`","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"` + rawClient + `","version":"` + clientVersion + `"}}`

// modernCall is a stateless tools/call with args as given.
func modernCall(id int, tool, args string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,%s}}`, id, tool, args, modernMeta)
}

// legacyCall is a tools/call of the session protocol (no _meta).
func legacyCall(id int, tool, args string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, args)
}

// sizedCall returns a tools/call of tool, built by build, exactly n bytes
// long: its "text" argument is "hello" padded with 'a'.
func sizedCall(t *testing.T, n int, build func(args string) []byte) []byte {
	t.Helper()
	shell := build(`{"text":"hello"}`)
	pad := n - len(shell)
	if pad < 0 {
		t.Fatalf("frame of %d bytes is shorter than its envelope", n)
	}
	frame := build(`{"text":"hello` + strings.Repeat("a", pad) + `"}`)
	if len(frame) != n {
		t.Fatalf("frame is %d bytes, want %d", len(frame), n)
	}
	return frame
}

// toolNotFound is a JSON-RPC error with the tool's name taken out, so that
// the replies for two names can be compared.
func toolNotFound(t *testing.T, r rpcReply, tool string) rpcError {
	t.Helper()
	if r.Error == nil {
		t.Fatalf("reply to tools/call %s = %s, want a JSON-RPC error", tool, r.Result)
	}
	e := *r.Error
	e.Message = strings.ReplaceAll(e.Message, tool, "NAME")
	return e
}

// stdioPipe is a raw `toolwarden serve --stdio` conversation.
type stdioPipe struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	quit   chan struct{} // closed at cleanup: unread lines are dropped
	logs   *logBuffer
	exited chan struct{}
	err    error // cmd.Wait's result, after exited is closed
}

// rawStdio starts `toolwarden serve --stdio` with key as its only
// environment and reads its stdout line by line.
func (e *testEnv) rawStdio(t *testing.T, key string) *stdioPipe {
	t.Helper()
	cmd := exec.Command(e2e.bin, "serve", "--stdio", "--config", e.config)
	cmd.Env = []string{"TOOLWARDEN_API_KEY=" + key}
	p := &stdioPipe{cmd: cmd, lines: make(chan []byte, 16), quit: make(chan struct{}), logs: &logBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.logs
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start toolwarden serve --stdio: %v", err)
	}
	go func() {
		br := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				select {
				case p.lines <- line:
				case <-p.quit:
				}
			}
			if err != nil {
				break
			}
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		close(p.quit)
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(stopGuard):
			_ = cmd.Process.Kill()
		}
	})
	return p
}

// send writes one frame and its newline.
func (p *stdioPipe) send(t *testing.T, frame []byte) {
	t.Helper()
	if _, err := p.stdin.Write(append(bytes.Clone(frame), '\n')); err != nil {
		t.Fatalf("write to toolwarden serve --stdio: %v\n%s", err, p.logs)
	}
}

// recv reads the next reply.
func (p *stdioPipe) recv(t *testing.T) rpcReply {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("toolwarden serve --stdio closed stdout\n%s", p.logs)
		}
		var r rpcReply
		if err := json.Unmarshal(line, &r); err != nil || r.JSONRPC != "2.0" {
			t.Fatalf("stdout line %q is not a JSON-RPC reply (%v)", line, err)
		}
		return r
	case <-time.After(replyGuard):
		t.Fatalf("no reply from toolwarden serve --stdio within %s\n%s", replyGuard, p.logs)
	}
	return rpcReply{}
}

// call sends a request and reads its reply, which must carry its id.
func (p *stdioPipe) call(t *testing.T, id int, frame []byte) rpcReply {
	t.Helper()
	p.send(t, frame)
	r := p.recv(t)
	if string(r.ID) != fmt.Sprint(id) {
		t.Fatalf("reply id = %s, want %d: %+v", r.ID, id, r)
	}
	return r
}

// close ends stdin and checks that the broker exits 0 and logged no error.
func (p *stdioPipe) close(t *testing.T) {
	t.Helper()
	if err := p.stdin.Close(); err != nil {
		t.Errorf("close stdin: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopGuard):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("toolwarden serve --stdio did not exit within %s of the end of its input", stopGuard)
	}
	if p.err != nil {
		t.Errorf("toolwarden serve --stdio exit: %v, want exit status 0\n%s", p.err, p.logs)
	}
	checkLogs(t, "toolwarden serve --stdio", p.logs)
}

// issuer signs test JWTs with an ES256 key published in a local JWKS file.
type issuer struct {
	key *ecdsa.PrivateKey
	kid string
}

func newIssuer(t *testing.T, kid string) *issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{key: key, kid: kid}
}

// writeJWKS publishes the issuer's public key at path.
func (is *issuer) writeJWKS(t *testing.T, path string) {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// sign returns a compact ES256 JWS of claims with the issuer's kid.
func (is *issuer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: is.key, KeyID: is.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned returns an "alg":"none" token of claims naming the issuer's kid.
func (is *issuer) unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	head, err := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": is.kid})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(head) + "." + enc(payload) + "."
}
