package redteam

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// principals are the callers the harness makes keys for: name → roles.
var principals = map[string][]string{
	"analyst": {"analyst"},
	"other":   {"analyst"},
	"admin":   {"admin"},
	"hostile": {"hostile"},
	"expired": {"analyst"},
}

// Target is a broker under attack: spawned by the harness from a config,
// with keys, canary secrets and an audit log of its own.
type Target struct {
	bin      string
	dir      string
	config   map[string]any    // the private config, less the audit log
	audits   []string          // the audit log of every broker started
	keys     map[string]string // principal → API key
	canaries []string          // values that must never leave: the canary secrets
	url      string            // the HTTP endpoint
	httpCfg  string            // the HTTP broker's config file
	httpCmd  *exec.Cmd
	httpLog  *bytes.Buffer
	Isolated bool // plugin tools run here (they were not withdrawn)
	// Attached is a broker the harness did not start (see [Attach]):
	// HTTP only, and its audit log read only where named.
	Attached bool

	mu    sync.Mutex // guards following
	stdio map[string]*stdioPeer
}

// Spawn prepares a private copy of the config at cfgPath (its own keys
// file, audit log, kill switch and canary values for every secret; the
// manifests and compilation cache shared) and starts bin serving it over
// HTTP. Stdio brokers start when a case first needs one.
func Spawn(ctx context.Context, bin, cfgPath string) (*Target, error) {
	dir, err := os.MkdirTemp("", "toolwarden-redteam-")
	if err != nil {
		return nil, err
	}
	t := &Target{bin: bin, dir: dir, keys: map[string]string{}, stdio: map[string]*stdioPeer{}}
	if err := t.writeConfig(cfgPath); err != nil {
		t.Close()
		return nil, err
	}
	for name, roles := range principals {
		k := auth.NewKey{Tenant: "redteam", Subject: name, Roles: roles}
		if name == "expired" {
			k.TTL = time.Nanosecond // past as soon as it is made
		}
		key, err := auth.AddKey(filepath.Join(dir, "keys.json"), k)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("redteam: make a key for %s: %w", name, err)
		}
		t.keys[name] = key
	}
	if err := t.startHTTP(ctx); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Attach targets a broker already serving MCP at url (".../mcp"): cases
// run over HTTP only, as the principals keys names (principal → API key);
// canaries are the secret values that must never come back; audits, if
// any, are the broker's audit logs, checked once the run ends (the
// broker should be stopped by then, so that what it holds is written).
func Attach(url string, keys map[string]string, canaries, audits []string) *Target {
	return &Target{url: url, keys: keys, canaries: canaries, audits: audits, Isolated: true, Attached: true, stdio: map[string]*stdioPeer{}}
}

// writeConfig writes the private copy of the config.
func (t *Target) writeConfig(cfgPath string) error {
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("redteam: read config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("redteam: config %s: %w", cfgPath, err)
	}
	base, err := filepath.Abs(filepath.Dir(cfgPath))
	if err != nil {
		return err
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	switch v := m["manifests"].(type) {
	case string:
		m["manifests"] = abs(v)
	case []any:
		var dirs []string
		for _, d := range v {
			s, _ := d.(string)
			dirs = append(dirs, abs(s))
		}
		m["manifests"] = dirs
	default:
		return fmt.Errorf("redteam: config %s: manifests: want a directory or a list", cfgPath)
	}
	cache, _ := m["cache"].(string)
	if cache == "" {
		cache = ".toolwarden/cache"
	}
	m["cache"] = abs(cache)
	m["keys"] = filepath.Join(t.dir, "keys.json")
	m["killSwitch"] = filepath.Join(t.dir, "killswitch")
	delete(m, "jwt")
	if secrets, ok := m["secrets"].(map[string]any); ok {
		out := map[string]any{}
		for name := range secrets {
			v := "canary-" + randomHex(12)
			f := filepath.Join(t.dir, "secret-"+name)
			if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
				return err
			}
			out[name] = f
			t.canaries = append(t.canaries, v)
		}
		m["secrets"] = out
	}
	httpc, _ := m["http"].(map[string]any)
	if httpc == nil {
		httpc = map[string]any{}
	}
	httpc["listen"] = "127.0.0.1:0"
	delete(httpc, "resourceURL")
	m["http"] = httpc
	t.config = m
	return nil
}

// configFor writes the config of one broker process, name: each process
// has an audit log of its own (a log has one writer).
func (t *Target) configFor(name string) (string, error) {
	log := filepath.Join(t.dir, "audit-"+name+".log")
	t.config["audit"] = map[string]any{"path": log}
	out, err := yaml.Marshal(t.config)
	if err != nil {
		return "", err
	}
	cfg := filepath.Join(t.dir, "toolwarden-"+name+".yaml")
	if err := os.WriteFile(cfg, out, 0o600); err != nil {
		return "", err
	}
	t.audits = append(t.audits, log)
	return cfg, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startHTTP starts the HTTP broker and waits until it serves.
func (t *Target) startHTTP(ctx context.Context) error {
	if t.httpCfg == "" {
		cfg, err := t.configFor("http")
		if err != nil {
			return err
		}
		t.httpCfg = cfg
	}
	cmd := exec.Command(t.bin, "serve", "--config", t.httpCfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redteam: start the broker: %w", err)
	}
	t.httpCmd, t.httpLog = cmd, &bytes.Buffer{}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			t.mu.Lock()
			t.httpLog.Write(append(line, '\n'))
			t.mu.Unlock()
			var rec struct {
				Msg string `json:"msg"`
				URL string `json:"url"`
			}
			if json.Unmarshal(line, &rec) == nil {
				if rec.Msg == "plugin tools withdrawn: this host cannot isolate plugins" {
					t.mu.Lock()
					t.httpLog.WriteString("(isolation unavailable)\n")
					t.mu.Unlock()
				}
				if !sent && rec.URL != "" {
					urlc <- rec.URL
					sent = true
				}
			}
		}
		if !sent {
			close(urlc)
		}
	}()
	select {
	case u, ok := <-urlc:
		if !ok {
			_ = cmd.Wait()
			return fmt.Errorf("redteam: the broker exited before it served:\n%s", t.Log())
		}
		t.url = u
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("redteam: the broker did not serve within 2 minutes:\n%s", t.Log())
	case <-ctx.Done():
		return ctx.Err()
	}
	t.Isolated = !strings.Contains(t.Log(), "(isolation unavailable)")
	return nil
}

// Log returns what the HTTP broker has logged so far.
func (t *Target) Log() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.httpLog.String()
}

// Key returns the API key of a principal, or the credential a case names.
func (t *Target) Key(as string) (string, bool) {
	switch as {
	case "none":
		return "", false
	case "invalid":
		return "tw_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52), true
	case "garbage":
		return "not-a-key!", true
	}
	k, ok := t.keys[as]
	return k, ok
}

// URL returns the HTTP broker's MCP endpoint.
func (t *Target) URL() string { return t.url }

// PID returns the HTTP broker's process id, 0 if it is not running.
func (t *Target) PID() int { return t.pid() }

// Config returns the HTTP broker's config file.
func (t *Target) Config() string { return t.httpCfg }

// Kill kills the HTTP broker with SIGKILL, as a crash would, and reaps it.
func (t *Target) Kill() error {
	if t.httpCmd == nil || t.httpCmd.Process == nil {
		return errors.New("redteam: no HTTP broker to kill")
	}
	if err := t.httpCmd.Process.Kill(); err != nil {
		return err
	}
	_ = t.httpCmd.Wait()
	t.httpCmd = nil
	return nil
}

// Restart starts the HTTP broker again on the same config and audit log
// (after [Target.Kill] or [Target.Stop]); it listens on a new port.
func (t *Target) Restart(ctx context.Context) error {
	if t.httpCmd != nil {
		return errors.New("redteam: the HTTP broker is running")
	}
	t.mu.Lock()
	t.httpLog.WriteString("--- restarted ---\n")
	t.mu.Unlock()
	return t.startHTTP(ctx)
}

// transports returns the transports cases run over.
func (t *Target) transports() []string {
	if t.Attached {
		return []string{"http"}
	}
	return []string{"http", "stdio"}
}

// pid returns the HTTP broker's process id.
func (t *Target) pid() int {
	if t.httpCmd == nil || t.httpCmd.Process == nil {
		return 0
	}
	return t.httpCmd.Process.Pid
}

// Audits returns the paths of the audit logs of the brokers started.
func (t *Target) Audits() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.audits)
}

// Canaries returns the values that must never leave the broker.
func (t *Target) Canaries() []string { return t.canaries }

// Stop stops every broker of the target gracefully (so that they flush
// what they hold: checkpoints, refusal summaries), and waits for them.
func (t *Target) Stop() {
	t.mu.Lock()
	peers := t.stdio
	t.stdio = map[string]*stdioPeer{}
	t.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
	if t.httpCmd != nil && t.httpCmd.Process != nil {
		_ = t.httpCmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = t.httpCmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = t.httpCmd.Process.Kill()
			<-done
		}
		t.httpCmd = nil
	}
}

// Close stops the target and removes its files.
func (t *Target) Close() {
	t.Stop()
	if t.dir != "" {
		_ = os.RemoveAll(t.dir)
	}
}

// stdioPeer is a broker serving one principal over stdio.
type stdioPeer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan []byte
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stdioFor returns the stdio broker of principal as, starting it if need
// be.
func (t *Target) stdioFor(as string) (*stdioPeer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.stdio[as]; p != nil {
		return p, nil
	}
	key, ok := t.Key(as)
	if !ok {
		return nil, errNoStdioCaller
	}
	cfg, err := t.configFor("stdio-" + as)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(t.bin, "serve", "--stdio", "--config", cfg)
	cmd.Env = []string{"TOOLWARDEN_API_KEY=" + key, "PATH=" + os.Getenv("PATH")}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &stdioPeer{cmd: cmd, in: in, lines: make(chan []byte, 16), stderr: stderr}
	go func() {
		br := bufio.NewReaderSize(out, 1<<20)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				p.lines <- bytes.TrimRight(line, "\n")
			}
			if err != nil {
				close(p.lines)
				return
			}
		}
	}()
	t.stdio[as] = p
	return p, nil
}

// errNoStdioCaller is a stdio case with no credential: a stdio broker
// refuses to start without one, which the harness checks apart.
var errNoStdioCaller = errors.New("no credential: a stdio broker does not start without one")

// exchange writes one line and reads the reply; a notification (no id)
// gets none.
func (p *stdioPeer) exchange(msg string, wantReply bool, timeout time.Duration) ([]byte, error) {
	if _, err := io.WriteString(p.in, strings.ReplaceAll(msg, "\n", " ")+"\n"); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	if !wantReply {
		return nil, nil
	}
	select {
	case line, ok := <-p.lines:
		if !ok {
			return nil, fmt.Errorf("the stdio broker closed its output; its log ends:\n%s", tail(p.stderr.String(), 2048))
		}
		return line, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("no reply within %s", timeout)
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// drain discards replies already waiting (from earlier requests of a
// flood).
func (p *stdioPeer) drain(n int, timeout time.Duration) {
	for range n {
		select {
		case <-p.lines:
		case <-time.After(timeout):
			return
		}
	}
}

func (p *stdioPeer) close() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// httpReply is one HTTP exchange's result.
type httpReply struct {
	status int
	body   []byte
}

// post sends one HTTP request built from a case.
func (t *Target) post(ctx context.Context, client *http.Client, method, path string, body []byte, hdr http.Header) (httpReply, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(t.url, "/mcp")+path, bytes.NewReader(body))
	if err != nil {
		return httpReply{}, err
	}
	req.Header = hdr
	if h := hdr.Get("Host"); h != "" {
		req.Host = h // Go sends req.Host, not a Host header
	}
	resp, err := client.Do(req)
	if err != nil {
		return httpReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return httpReply{status: resp.StatusCode}, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b = lastEvent(b)
	}
	return httpReply{status: resp.StatusCode, body: b}, nil
}

// lastEvent returns the data of the last event of an SSE body.
func lastEvent(b []byte) []byte {
	var last []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			last = bytes.TrimSpace(d)
		}
	}
	return last
}

// raw writes bytes on a fresh TCP connection and reads what comes back
// until the server closes it or goes quiet.
func (t *Target) raw(data string) (httpReply, error) {
	host := strings.TrimPrefix(strings.TrimSuffix(t.url, "/mcp"), "http://")
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return httpReply{}, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, data); err != nil {
		return httpReply{}, err
	}
	br := bufio.NewReader(c)
	var first httpReply
	n := 0
	for {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if n == 0 {
			first = httpReply{status: resp.StatusCode, body: b}
		}
		n++
	}
	if n == 0 {
		return httpReply{}, nil // no response: status 0, judged as such
	}
	if n > 1 {
		first.body = append(first.body, []byte(fmt.Sprintf("\n[redteam: %d responses on one connection]", n))...)
	}
	return first, nil
}
