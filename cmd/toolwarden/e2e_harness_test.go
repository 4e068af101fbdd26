package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// This file is the end-to-end harness: TestMain's build, a test
// environment (config, manifests, keys, audit log) per test, the real
// binary serving it over HTTP or stdio, and the audit log read back.

const modulePath = "github.com/toolwarden/toolwarden"

// Protocol versions the tests speak.
const (
	protoModern = mcp.ProtocolVersion20260728 // stateless, mcp-go's default
	protoLegacy = "2025-11-25"                // initialize and Mcp-Session-Id
)

// Hang guards. They bound how long a broken binary can stall the suite;
// nothing asserts how fast anything is.
const (
	startGuard = 90 * time.Second // until serve logs its URL
	stopGuard  = 60 * time.Second // from SIGTERM to exit
	replyGuard = 60 * time.Second // one raw stdio reply
)

// e2e is what TestMain prepared; read-only while tests run.
var e2e struct {
	bin      string            // the toolwarden binary built from this package
	wasmDir  string            // echo.wasm and jq.wasm
	cacheDir string            // wazero compilation cache shared by every broker
	sha      map[string]string // tool name → hex SHA-256 of its module
}

// e2eTools are the wasm tools every test environment serves.
var e2eTools = []string{"echo", "jq"}

// setup builds the binary and the wasm tools into tmp and warms the shared
// compilation cache with one `toolwarden call`.
func setup(tmp string) error {
	e2e.bin = filepath.Join(tmp, "toolwarden")
	e2e.wasmDir = filepath.Join(tmp, "wasm")
	e2e.cacheDir = filepath.Join(tmp, "cache")
	e2e.sha = make(map[string]string)
	for _, dir := range []string{e2e.wasmDir, e2e.cacheDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	errs := make([]error, 1+len(e2eTools))
	var wg sync.WaitGroup
	wg.Go(func() {
		cmd := exec.Command("go", "build", "-o", e2e.bin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			errs[0] = fmt.Errorf("go build ./cmd/toolwarden: %v\n%s", err, out)
		}
	})
	for i, tool := range e2eTools {
		wg.Go(func() {
			src, err := sandboxtest.BuildWasmFile(modulePath + "/tools/" + tool)
			if err == nil {
				err = copyFile(src, filepath.Join(e2e.wasmDir, tool+".wasm"))
			}
			errs[i+1] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, tool := range e2eTools {
		data, err := os.ReadFile(filepath.Join(e2e.wasmDir, tool+".wasm"))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		e2e.sha[tool] = hex.EncodeToString(sum[:])
	}

	// One call through the whole pipeline compiles every module into the
	// shared cache, and proves the set-up before any test relies on it.
	dir := filepath.Join(tmp, "warm")
	cfg, err := writeEnv(dir, "")
	if err != nil {
		return err
	}
	res := runTool("call", "--config", cfg, "--principal", "e2e/warmup", "--roles", "admin", "echo", `{"text":"warm"}`)
	if res.code != 0 || strings.TrimSpace(res.stdout) != `{"text":"warm"}` {
		return fmt.Errorf("toolwarden call (warm-up): exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// copyTree copies the regular files under src into dst, directories 0700.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
}

// Input schemas of the test tools, written into their manifests as JSON
// (YAML's flow style): tools/list must show exactly these.
var toolSchemas = map[string]string{
	"echo": `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
  "properties": {"text": {"type": "string", "maxLength": 65536, "description": "The text to return."}},
  "required": ["text"], "additionalProperties": false}`,
	"jq": `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
  "properties": {"filter": {"type": "string", "minLength": 1, "maxLength": 4096, "description": "A jq program."},
    "input": {"description": "The JSON value the filter reads."}},
  "required": ["filter", "input"], "additionalProperties": false}`,
}

var toolDescriptions = map[string]string{
	"echo": "Return the given text unchanged.",
	"jq":   "Run a jq filter over a JSON value and return every result.",
}

const toolManifest = `apiVersion: toolwarden.dev/v1
kind: Tool
name: %s
version: 1.0.0
description: %s
runtime:
  wasm:
    module: %s
    sha256: "%s"
inputSchema: %s
limits: {timeout: 20s, memory: 128MiB, output: 256KiB}
risk: low
cost: 1
`

// analystPattern is the analyst role's constraint on echo's text.
const analystPattern = "^hello"

var roleManifests = map[string]string{
	"analyst.yaml": `apiVersion: toolwarden.dev/v1
kind: Role
name: analyst
description: May echo text that starts with hello, and nothing else.
tools:
  - name: echo
    arguments:
      text: {pattern: "` + analystPattern + `"}
`,
	"admin.yaml": `apiVersion: toolwarden.dev/v1
kind: Role
name: admin
description: May call every tool, unconstrained.
tools:
  - name: "*"
`,
}

// allowedOrigin is the one browser origin test configs allow.
const allowedOrigin = "https://app.example.com"

const configTmpl = `manifests: ./manifests
audit:
  path: ./audit.log
keys: ./keys.json
cache: %q
http:
  allowedOrigins: [%q]
%s`

// writeEnv writes toolwarden.yaml (with extra appended), the manifests and
// nothing else into dir, and returns the config's path.
func writeEnv(dir, extra string) (string, error) {
	mdir := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(mdir, 0o700); err != nil {
		return "", err
	}
	for _, tool := range e2eTools {
		rel, err := filepath.Rel(mdir, filepath.Join(e2e.wasmDir, tool+".wasm"))
		if err != nil {
			return "", err
		}
		m := fmt.Sprintf(toolManifest, tool, toolDescriptions[tool], filepath.ToSlash(rel), e2e.sha[tool], toolSchemas[tool])
		if err := os.WriteFile(filepath.Join(mdir, tool+".yaml"), []byte(m), 0o600); err != nil {
			return "", err
		}
	}
	for name, body := range roleManifests {
		if err := os.WriteFile(filepath.Join(mdir, name), []byte(body), 0o600); err != nil {
			return "", err
		}
	}
	cfg := filepath.Join(dir, "toolwarden.yaml")
	body := fmt.Sprintf(configTmpl, e2e.cacheDir, allowedOrigin, extra)
	return cfg, os.WriteFile(cfg, []byte(body), 0o600)
}

// toolResult is one run of the binary as a CLI.
type toolResult struct {
	stdout, stderr string
	code           int
}

// runTool runs the binary with an empty environment: nothing it needs may
// come from the test's environment.
func runTool(args ...string) toolResult {
	return runToolWithEnv([]string{}, args...)
}

// runToolWithEnv runs the binary with env as its whole environment.
func runToolWithEnv(env []string, args ...string) toolResult {
	cmd := exec.Command(e2e.bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := toolResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		res.code, res.stderr = -1, err.Error()
	}
	return res
}

// testEnv is one broker's directory: config, manifests, keys, audit log.
type testEnv struct {
	dir    string
	config string
	audit  string
}

// newEnv writes a fresh environment; extra is YAML appended to the config.
func newEnv(t *testing.T, extra string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	cfg, err := writeEnv(dir, extra)
	if err != nil {
		t.Fatalf("write test environment: %v", err)
	}
	return &testEnv{dir: dir, config: cfg, audit: filepath.Join(dir, "audit.log")}
}

// principal is who a key or token speaks for.
type principal struct {
	tenant, subject string
	roles           []string
}

// apiKey is a key made with `toolwarden keys add`.
type apiKey struct {
	principal
	secret string // the whole key, tw_<id>_<secret>
	id     string
}

// addKey runs `toolwarden keys add` for p; extra adds flags (--expires).
func (e *testEnv) addKey(t *testing.T, p principal, extra ...string) apiKey {
	t.Helper()
	args := append([]string{"keys", "add", "--config", e.config, "--tenant", p.tenant, "--subject", p.subject,
		"--roles", strings.Join(p.roles, ",")}, extra...)
	res := runTool(args...)
	key := strings.TrimSpace(res.stdout)
	parts := strings.Split(key, "_")
	if res.code != 0 || len(parts) != 3 || parts[0] != "tw" {
		t.Fatalf("toolwarden keys add: exit %d, stdout %q, stderr %q; want a key tw_ID_SECRET", res.code, res.stdout, res.stderr)
	}
	return apiKey{principal: p, secret: key, id: parts[1]}
}

// logBuffer collects a child's stderr; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex // guards following
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// errorLines returns the JSON log lines at level ERROR.
func (b *logBuffer) errorLines() []string {
	var out []string
	for line := range strings.Lines(b.String()) {
		var entry struct {
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Level == "ERROR" {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// checkLogs fails the test if the broker logged an error.
func checkLogs(t *testing.T, what string, logs *logBuffer) {
	t.Helper()
	if lines := logs.errorLines(); len(lines) > 0 {
		t.Errorf("%s logged errors:\n%s", what, strings.Join(lines, "\n"))
	}
}

// server is `toolwarden serve` over Streamable HTTP.
type server struct {
	env    *testEnv
	url    string // http://127.0.0.1:PORT/mcp, from the serve log line
	cmd    *exec.Cmd
	logs   *logBuffer
	exited chan struct{}
	err    error // cmd.Wait's result; read only after exited is closed
	once   sync.Once
}

// serveHTTP starts `toolwarden serve --listen 127.0.0.1:0` and waits for
// the log line naming its URL. The server is stopped at cleanup if the test
// has not stopped it.
func (e *testEnv) serveHTTP(t *testing.T) *server {
	t.Helper()
	cmd := exec.Command(e2e.bin, "serve", "--config", e.config, "--listen", "127.0.0.1:0")
	cmd.Env = []string{}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start toolwarden serve: %v", err)
	}
	s := &server{env: e, cmd: cmd, logs: &logBuffer{}, exited: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.logs.Write(append(bytes.Clone(line), '\n'))
			var entry struct {
				Msg string `json:"msg"`
				URL string `json:"url"`
			}
			if json.Unmarshal(line, &entry) == nil && entry.Msg == "serving MCP over Streamable HTTP" {
				select {
				case urls <- entry.URL:
				default:
				}
			}
		}
		_, _ = io.Copy(s.logs, stderr)
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.url = <-urls:
	case <-s.exited:
		t.Fatalf("toolwarden serve exited before serving: %v\n%s", s.err, s.logs)
	case <-time.After(startGuard):
		_ = cmd.Process.Kill()
		t.Fatalf("toolwarden serve logged no URL within %s:\n%s", startGuard, s.logs)
	}
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") || !strings.HasSuffix(s.url, "/mcp") || strings.HasPrefix(s.url, "http://127.0.0.1:0/") {
		t.Fatalf("serve logged url %q, want http://127.0.0.1:PORT/mcp with the bound port", s.url)
	}
	return s
}

// stop sends SIGTERM and checks that the server exits 0 without logging an
// error and leaves an audit log that `toolwarden audit verify` accepts.
// Calling it again does nothing.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM toolwarden serve: %v", err)
		}
		select {
		case <-s.exited:
		case <-time.After(stopGuard):
			_ = s.cmd.Process.Kill()
			<-s.exited
			t.Errorf("toolwarden serve did not exit within %s of SIGTERM", stopGuard)
		}
		if s.err != nil {
			t.Errorf("toolwarden serve exit after SIGTERM: %v, want exit status 0\n%s", s.err, s.logs)
		}
		if !strings.Contains(s.logs.String(), `"msg":"shutting down"`) {
			t.Errorf("toolwarden serve did not log its shutdown:\n%s", s.logs)
		}
		checkLogs(t, "toolwarden serve", s.logs)
		s.env.verifyAudit(t)
	})
}

// stdioConn is mcp-go's stdio client on its own `toolwarden serve --stdio`.
type stdioConn struct {
	*client.Client
	logs   *logBuffer
	closed bool
}

// dialStdio starts `toolwarden serve --stdio` under mcp-go's stdio
// transport, with TOOLWARDEN_API_KEY as the child's whole environment
// (desktop hosts pass only what their config names), and initializes it.
// client.NewStdioMCPClient would add the test's own environment, so the
// command is built here.
func (e *testEnv) dialStdio(t *testing.T, key string, opts ...client.ClientOption) *stdioConn {
	t.Helper()
	logs := &logBuffer{}
	build := func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, command, args...)
		cmd.Env = env
		cmd.Stderr = logs
		return cmd, nil
	}
	tr := transport.NewStdioWithOptions(e2e.bin, []string{"TOOLWARDEN_API_KEY=" + key},
		[]string{"serve", "--stdio", "--config", e.config}, transport.WithCommandFunc(build))
	if err := tr.Start(context.Background()); err != nil {
		t.Fatalf("start toolwarden serve --stdio: %v", err)
	}
	conn := &stdioConn{Client: client.NewClient(tr, opts...), logs: logs}
	t.Cleanup(func() {
		if !conn.closed {
			_ = conn.Client.Close()
		}
	})
	initialize(t, conn.Client, "e2e-stdio")
	return conn
}

// close closes the broker's stdin and checks that it exits 0 without
// logging an error.
func (s *stdioConn) close(t *testing.T) {
	t.Helper()
	s.closed = true
	if err := s.Client.Close(); err != nil {
		t.Errorf("toolwarden serve --stdio exit at end of input: %v, want exit status 0\n%s", err, s.logs)
	}
	checkLogs(t, "toolwarden serve --stdio", s.logs)
}

// dialHTTP connects mcp-go's Streamable HTTP client with a bearer
// credential and initializes it: the stateless 2026-07-28 protocol unless
// opts pin another version.
func dialHTTP(t *testing.T, url, bearer string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + bearer}))
	if err != nil {
		t.Fatalf("NewStreamableHTTP: %v", err)
	}
	c := client.NewClient(tr, opts...)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("client Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c, "e2e-http")
	return c
}

const clientVersion = "1.0.0"

func initialize(t *testing.T, c *client.Client, name string) {
	t.Helper()
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: name, Version: clientVersion}
	if _, err := c.Initialize(context.Background(), req); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
}

// records reads the audit log back, strictly: a field the test does not
// know is an error.
func (e *testEnv) records(t *testing.T) []audit.Record {
	t.Helper()
	data, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	var out []audit.Record
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var r audit.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("audit log line %d: %v\n%s", i+1, err, line)
		}
		out = append(out, r)
	}
	return out
}

// mark returns how many records the audit log holds.
func (e *testEnv) mark(t *testing.T) int {
	t.Helper()
	return len(e.records(t))
}

// since returns the records appended after mark.
func (e *testEnv) since(t *testing.T, mark int) []audit.Record {
	t.Helper()
	recs := e.records(t)
	if len(recs) < mark {
		t.Fatalf("audit log shrank from %d to %d records", mark, len(recs))
	}
	return recs[mark:]
}

// one returns the one record appended after mark.
func (e *testEnv) one(t *testing.T, mark int) audit.Record {
	t.Helper()
	recs := e.since(t, mark)
	if len(recs) != 1 {
		t.Fatalf("audit log gained %d records, want 1: %+v", len(recs), recs)
	}
	return recs[0]
}

// refused checks that exactly one record was appended after mark: the
// refusal of a request with reason, as the front door records it.
func (e *testEnv) refused(t *testing.T, mark int, reason string) audit.Record {
	t.Helper()
	rec := e.one(t, mark)
	if rec.Decision != audit.DecisionDeny || rec.Reason != reason {
		t.Errorf("refusal recorded as %s/%s, want deny/%s", rec.Decision, rec.Reason, reason)
	}
	return rec
}

// none checks that nothing was appended after mark.
func (e *testEnv) none(t *testing.T, mark int) {
	t.Helper()
	if recs := e.since(t, mark); len(recs) != 0 {
		t.Errorf("audit log gained %d records, want none: %+v", len(recs), recs)
	}
}

// verifyAudit runs `toolwarden audit verify` and checks its report against
// the records read back.
func (e *testEnv) verifyAudit(t *testing.T) {
	t.Helper()
	recs := e.records(t)
	res := runTool("audit", "verify", e.audit)
	head := ""
	if len(recs) > 0 {
		head = recs[len(recs)-1].Hash[:16] // the report may shorten it
	}
	want := fmt.Sprintf("verified %d records", len(recs))
	if res.code != 0 || !strings.HasPrefix(res.stdout, e.audit+": "+want) || !strings.Contains(res.stdout, "head "+head) {
		t.Errorf("toolwarden audit verify: exit %d, stdout %q, stderr %q; want exit 0, %q and head %s", res.code, res.stdout, res.stderr, want, head)
	}
}

// origin is where a record's call came from.
type origin struct {
	transport     string
	session       string // exact, unless sessionPrefix is set
	sessionPrefix string
	protocol      string
	clientName    string
	clientVersion string
	remote        bool // remote_addr is 127.0.0.1:PORT (HTTP); else empty
}

// wantRecord is what one audit record must say.
type wantRecord struct {
	decision  string
	reason    string
	outcome   string
	tool      string
	grantedBy string
	who       principal // tenant, subject, roles; zero for refusals before authentication
	auth      string    // apikey, jwt; "" before authentication
	keyID     string
	audience  string
	requestID string // "" means any non-empty id
	from      origin
}

func checkRecord(t *testing.T, rec audit.Record, w wantRecord) {
	t.Helper()
	var bad []string
	eq := func(field, got, want string) {
		if got != want {
			bad = append(bad, fmt.Sprintf("%s = %q, want %q", field, got, want))
		}
	}
	eq("decision", rec.Decision, w.decision)
	eq("reason", rec.Reason, w.reason)
	eq("outcome", rec.Outcome, w.outcome)
	eq("tool", rec.Tool, w.tool)
	eq("granted_by", rec.GrantedBy, w.grantedBy)
	eq("tenant", rec.Tenant, w.who.tenant)
	eq("subject", rec.Subject, w.who.subject)
	eq("roles", strings.Join(rec.Roles, ","), strings.Join(w.who.roles, ","))
	eq("auth", rec.AuthKind, w.auth)
	eq("key_id", rec.KeyID, w.keyID)
	eq("audience", rec.Audience, w.audience)
	eq("transport", rec.Transport, w.from.transport)
	if w.from.sessionPrefix != "" {
		if !strings.HasPrefix(rec.Session, w.from.sessionPrefix) {
			bad = append(bad, fmt.Sprintf("session = %q, want prefix %q", rec.Session, w.from.sessionPrefix))
		}
	} else {
		eq("session", rec.Session, w.from.session)
	}
	eq("protocol", rec.Protocol, w.from.protocol)
	eq("client_name", rec.ClientName, w.from.clientName)
	eq("client_version", rec.ClientVersion, w.from.clientVersion)
	if w.from.remote {
		if !strings.HasPrefix(rec.RemoteAddr, "127.0.0.1:") {
			bad = append(bad, fmt.Sprintf("remote_addr = %q, want 127.0.0.1:PORT", rec.RemoteAddr))
		}
	} else {
		eq("remote_addr", rec.RemoteAddr, "")
	}
	if w.requestID != "" {
		eq("request_id", rec.RequestID, w.requestID)
	} else if rec.RequestID == "" {
		bad = append(bad, "request_id is empty")
	}
	if w.reason != "" && !strings.HasPrefix(rec.Error, w.reason+": ") {
		bad = append(bad, fmt.Sprintf("error = %q, want it to start with %q", rec.Error, w.reason+": "))
	}
	if w.decision == audit.DecisionAllow {
		eq("tool_version", rec.ToolVersion, "1.0.0")
		eq("tool_digest", rec.ToolDigest, e2e.sha[w.tool])
		eq("sandbox", rec.Sandbox, "wasm")
		if rec.ResultSHA256 == "" || rec.ResultBytes == 0 {
			bad = append(bad, fmt.Sprintf("result_sha256 = %q, result_bytes = %d; want a result digest and size", rec.ResultSHA256, rec.ResultBytes))
		}
	}
	if rec.Hash == "" || rec.Seq == 0 {
		bad = append(bad, fmt.Sprintf("seq = %d, hash = %q; want a chained record", rec.Seq, rec.Hash))
	}
	if len(bad) > 0 {
		line, _ := json.Marshal(rec)
		t.Errorf("audit record of %s:\n  %s\n  record: %s", w.tool, strings.Join(bad, "\n  "), line)
	}
}

// argsSHA256 is the digest the broker must record for an arguments object
// sent as exactly these bytes.
func argsSHA256(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
