package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// testResolver is the shared runner's resolver: names map to a list of
// answers, one per lookup, the last repeated. Nothing reaches real DNS.
var testResolver = &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}

// testEgress is the shared runner's egress configuration: small caps, so
// the cap tests stay small.
var testEgress = egress.Config{
	Resolver:         testResolver,
	MaxRequests:      4,
	MaxResponseBytes: 64 << 10,
	MaxRedirects:     2,
}

type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

// set replaces the answers for name and resets its lookup count.
func (r *fakeResolver) set(name string, answers ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[name] = nil
	for _, a := range answers {
		r.answers[name] = append(r.answers[name], []netip.Addr{netip.MustParseAddr(a)})
	}
	r.calls[name] = 0
}

func (r *fakeResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.answers[host]
	if len(list) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := min(r.calls[host], len(list)-1)
	r.calls[host]++
	return list[n], nil
}

// testServer is a local HTTP server on 127.0.0.1.
type testServer struct {
	*httptest.Server
	port  int
	grant string // "http://127.0.0.1:PORT"
	base  string // "http://127.0.0.1:PORT"
}

func newTestServer(t *testing.T, extra map[string]http.HandlerFunc) *testServer {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Secret-Internal", "not selected")
		fmt.Fprintf(w, "hello from %s", r.URL.Path)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 1024)
		n, _ := r.Body.Read(body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("X-Test"), body[:n])
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("a", 100<<10)))
	})
	mux.HandleFunc("/redirect-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/redirect-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	for p, h := range extra {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	return &testServer{Server: srv, port: port, grant: base, base: base}
}

// attempt is what a test checks of an egress entry: BytesOut and BytesIn
// are checked for being positive, not for their exact value.
type attempt struct {
	host    string
	port    int
	address bool // an address was dialled
	allowed bool
	reason  string
}

func checkEgress(t *testing.T, what string, got []sandbox.EgressAttempt, want []attempt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s Egress = %+v, want %d entries %+v", what, got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Host != w.host || g.Port != w.port || (g.Address != "") != w.address || g.Allowed != w.allowed || g.Reason != w.reason {
			t.Errorf("%s Egress[%d] = %+v, want %+v", what, i, g, w)
		}
		if w.address && !strings.HasSuffix(g.Address, ":"+strconv.Itoa(w.port)) {
			t.Errorf("%s Egress[%d].Address = %q, want an address with port %d", what, i, g.Address, w.port)
		}
		if w.address && w.reason == "" && (g.BytesOut <= 0 || g.BytesIn <= 0) {
			t.Errorf("%s Egress[%d] bytes out/in = %d/%d, want both positive", what, i, g.BytesOut, g.BytesIn)
		}
		if !w.address && (g.BytesOut != 0 || g.BytesIn != 0) {
			t.Errorf("%s Egress[%d] bytes out/in = %d/%d with nothing dialled, want 0", what, i, g.BytesOut, g.BytesIn)
		}
	}
}

func runWith(t *testing.T, p *Program, args string, grant []string) (*sandbox.Result, error) {
	t.Helper()
	res, err := p.Run(context.Background(), sandbox.Invocation{Args: []byte(args), Limits: limits(), Egress: grant})
	if res == nil {
		t.Fatalf("Run(%s) Result = nil (%v), want a result", args, err)
	}
	return res, err
}

// fetchReply is tools/httpfetch's result.
type fetchReply struct {
	Status      int               `json:"status"`
	URL         string            `json:"url"`
	ContentType string            `json:"content_type"`
	Headers     map[string]string `json:"headers"`
	Body        string            `json:"body"`
	Bytes       int               `json:"bytes"`
	Truncated   bool              `json:"truncated"`
}

func TestHTTPFetchAllowed(t *testing.T) {
	srv := newTestServer(t, nil)
	p := goProgram(t, "httpfetch")
	ok := attempt{host: "127.0.0.1", port: srv.port, address: true, allowed: true}
	for _, tc := range []struct {
		name, args string
		want       fetchReply
		egress     []attempt
	}{
		{
			name: "get",
			args: `{"url":"` + srv.base + `/ok"}`,
			want: fetchReply{Status: 200, URL: srv.base + "/ok", ContentType: "text/plain; charset=utf-8", Body: "hello from /ok", Bytes: 14,
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "14"}},
			egress: []attempt{ok},
		},
		{
			name: "post with headers",
			args: `{"url":"` + srv.base + `/echo","method":"POST","headers":{"X-Test":"yes"},"body":"payload"}`,
			want: fetchReply{Status: 200, URL: srv.base + "/echo", ContentType: "text/plain; charset=utf-8", Body: "POST yes payload", Bytes: 16,
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "16"}},
			egress: []attempt{ok},
		},
		{
			name: "redirect followed by the broker",
			args: `{"url":"` + srv.base + `/redirect-ok"}`,
			want: fetchReply{Status: 200, URL: srv.base + "/ok", ContentType: "text/plain; charset=utf-8", Body: "hello from /ok", Bytes: 14,
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "14"}},
			egress: []attempt{ok, ok},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runWith(t, p, tc.args, []string{srv.grant})
			if err != nil {
				t.Fatalf("Run(httpfetch, %s) error = %v", tc.args, err)
			}
			var got fetchReply
			if err := json.Unmarshal(res.Output, &got); err != nil {
				t.Fatalf("Run(httpfetch) Output %s: %v", res.Output, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Run(httpfetch, %s) = %+v, want %+v", tc.args, got, tc.want)
			}
			checkEgress(t, "Run(httpfetch)", res.Egress, tc.egress)
		})
	}
}

// TestHTTPFetchRefused runs every refusal through the real tool: the call
// fails as a tool error naming the egress code, and the audit entry says
// what was refused and why, with nothing dialled.
func TestHTTPFetchRefused(t *testing.T) {
	srv := newTestServer(t, nil)
	p := goProgram(t, "httpfetch")
	testResolver.set("metadata.test", "169.254.169.254")
	testResolver.set("private.test", "10.1.2.3")
	ps := strconv.Itoa(srv.port)
	grant := []string{srv.grant, "http://metadata.test:80", "http://private.test:" + ps}
	refused := func(host string, port int, code string) []attempt {
		return []attempt{{host: host, port: port, reason: code}}
	}
	for _, tc := range []struct {
		name, url string
		code      string
		egress    []attempt
	}{
		// Each forbidden address class, named by IP.
		{"private 10/8", "http://10.0.0.1:" + ps + "/", egress.CodeDeniedAddress, refused("10.0.0.1", srv.port, egress.CodeDeniedAddress)},
		{"private 172.16/12", "http://172.16.0.1/", egress.CodeDeniedAddress, refused("172.16.0.1", 80, egress.CodeDeniedAddress)},
		{"private 192.168/16", "http://192.168.1.1/", egress.CodeDeniedAddress, refused("192.168.1.1", 80, egress.CodeDeniedAddress)},
		{"loopback not granted", "http://127.0.0.2:" + ps + "/", egress.CodeDeniedAddress, refused("127.0.0.2", srv.port, egress.CodeDeniedAddress)},
		{"link-local metadata", "http://169.254.169.254/latest/meta-data/", egress.CodeDeniedAddress, refused("169.254.169.254", 80, egress.CodeDeniedAddress)},
		{"cgnat", "http://100.64.0.1/", egress.CodeDeniedAddress, refused("100.64.0.1", 80, egress.CodeDeniedAddress)},
		{"unspecified", "http://0.0.0.0:" + ps + "/", egress.CodeDeniedAddress, refused("0.0.0.0", srv.port, egress.CodeDeniedAddress)},
		{"ipv6 loopback", "http://[::1]:" + ps + "/", egress.CodeDeniedAddress, refused("::1", srv.port, egress.CodeDeniedAddress)},
		{"ipv6 unique local", "http://[fd00::1]/", egress.CodeDeniedAddress, refused("fd00::1", 80, egress.CodeDeniedAddress)},
		{"ipv6 link-local", "http://[fe80::1]/", egress.CodeDeniedAddress, refused("fe80::1", 80, egress.CodeDeniedAddress)},
		// Each literal form of the metadata address.
		{"decimal", "http://2852039166/", egress.CodeDeniedAddress, refused("169.254.169.254", 80, egress.CodeDeniedAddress)},
		{"hex", "http://0xa9fea9fe/", egress.CodeDeniedAddress, refused("169.254.169.254", 80, egress.CodeDeniedAddress)},
		{"octal", "http://0251.0376.0251.0376/", egress.CodeDeniedAddress, refused("169.254.169.254", 80, egress.CodeDeniedAddress)},
		{"short form", "http://169.254.43518/", egress.CodeDeniedAddress, refused("169.254.169.254", 80, egress.CodeDeniedAddress)},
		{"ipv4-mapped ipv6", "http://[::ffff:169.254.169.254]/", egress.CodeDeniedAddress, refused("169.254.169.254", 80, egress.CodeDeniedAddress)},
		{"loopback as decimal", "http://2130706434:" + ps + "/", egress.CodeDeniedAddress, refused("127.0.0.2", srv.port, egress.CodeDeniedAddress)},
		// Granted names that resolve to forbidden addresses.
		{"name resolving to metadata", "http://metadata.test/latest/meta-data/", egress.CodeDeniedAddress, refused("metadata.test", 80, egress.CodeDeniedAddress)},
		{"name resolving to private", "http://private.test:" + ps + "/ok", egress.CodeDeniedAddress, refused("private.test", srv.port, egress.CodeDeniedAddress)},
		// A redirect to a forbidden host: the first hop is made, the second refused.
		{"redirect to metadata", srv.base + "/redirect-metadata", egress.CodeDeniedAddress, []attempt{
			{host: "127.0.0.1", port: srv.port, address: true, allowed: true},
			{host: "169.254.169.254", port: 80, reason: egress.CodeDeniedAddress},
		}},
		// Userinfo, port, scheme and host outside the grant.
		{"userinfo", "http://user:pass@127.0.0.1:" + ps + "/ok", egress.CodeUserinfo, refused("127.0.0.1", srv.port, egress.CodeUserinfo)},
		{"port not granted", "http://127.0.0.1:1/ok", egress.CodeDeniedPort, refused("127.0.0.1", 1, egress.CodeDeniedPort)},
		{"scheme not granted", "https://127.0.0.1:" + ps + "/ok", egress.CodeDeniedScheme, refused("127.0.0.1", srv.port, egress.CodeDeniedScheme)},
		{"public host not granted", "https://example.com/", egress.CodeDeniedHost, refused("example.com", 443, egress.CodeDeniedHost)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runWith(t, p, `{"url":"`+tc.url+`"}`, grant)
			if got := codeOf(err); got != sandbox.CodeToolError {
				t.Fatalf("Run(httpfetch %s) code = %q (%v), want %q", tc.url, got, err, sandbox.CodeToolError)
			}
			if pub := publicOf(err); !strings.Contains(pub, tc.code+": ") {
				t.Errorf("Run(httpfetch %s) Public = %q, want it to name %s", tc.url, pub, tc.code)
			}
			checkEgress(t, "Run(httpfetch "+tc.url+")", res.Egress, tc.egress)
		})
	}
}

func TestHTTPFetchNoGrant(t *testing.T) {
	srv := newTestServer(t, nil)
	res, err := runWith(t, goProgram(t, "httpfetch"), `{"url":"`+srv.base+`/ok"}`, nil)
	if !strings.Contains(publicOf(err), egress.CodeDeniedAddress) {
		t.Errorf("Run(httpfetch, no grant) error = %v, want a refusal", err)
	}
	checkEgress(t, "Run(httpfetch, no grant)", res.Egress, []attempt{{host: "127.0.0.1", port: srv.port, reason: egress.CodeDeniedAddress}})
}

func TestHTTPFetchResponseOverCap(t *testing.T) {
	srv := newTestServer(t, nil)
	res, err := runWith(t, goProgram(t, "httpfetch"), `{"url":"`+srv.base+`/big"}`, []string{srv.grant})
	if err != nil {
		t.Fatalf("Run(httpfetch /big) error = %v, want the truncated body", err)
	}
	var got fetchReply
	if err := json.Unmarshal(res.Output, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Truncated || got.Bytes != int(testEgress.MaxResponseBytes) || got.Body != strings.Repeat("a", int(testEgress.MaxResponseBytes)) {
		t.Errorf("Run(httpfetch /big) = truncated %v, %d bytes, body %d bytes; want truncated at %d", got.Truncated, got.Bytes, len(got.Body), testEgress.MaxResponseBytes)
	}
	checkEgress(t, "Run(httpfetch /big)", res.Egress, []attempt{{host: "127.0.0.1", port: srv.port, address: true, allowed: true, reason: egress.CodeResponseTooLarge}})
	if in := res.Egress[0].BytesIn; in < testEgress.MaxResponseBytes {
		t.Errorf("Run(httpfetch /big) BytesIn = %d, want at least the cap %d", in, testEgress.MaxResponseBytes)
	}
}

func TestHTTPFetchArguments(t *testing.T) {
	p := goProgram(t, "httpfetch")
	for _, tc := range []struct{ name, args, want string }{
		{"missing url", `{}`, `missing required argument "url"`},
		{"not http", `{"url":"file:///etc/passwd"}`, `url "file:///etc/passwd" is not an absolute http or https URL`},
		{"bad method", `{"url":"http://a.test/","method":"DELETE"}`, `method "DELETE" is not GET or POST`},
		{"body with get", `{"url":"http://a.test/","body":"x"}`, `argument "body" needs method POST`},
		{"unknown argument", `{"url":"http://a.test/","proxy":"x"}`, `decode arguments: unknown member "proxy" at /proxy (offset 24)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runWith(t, p, tc.args, nil)
			if codeOf(err) != sandbox.CodeToolError || publicOf(err) != tc.want {
				t.Errorf("Run(httpfetch, %s) = %v, want tool error %q", tc.args, err, tc.want)
			}
			if len(res.Egress) != 0 {
				t.Errorf("Run(httpfetch, %s) Egress = %+v, want none", tc.args, res.Egress)
			}
		})
	}
}

// probe runs hostprobe with steps and returns its outcomes.
func probe(t *testing.T, inv sandbox.Invocation, steps ...string) ([]string, *sandbox.Result) {
	t.Helper()
	inv.Args = []byte(`{"steps":[` + strings.Join(steps, ",") + `]}`)
	inv.Limits = limits()
	res, err := goProgram(t, "hostprobe").Run(context.Background(), inv)
	if err != nil {
		t.Fatalf("Run(hostprobe, %s) error = %v", inv.Args, err)
	}
	var out []string
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatalf("Run(hostprobe) Output %s: %v", res.Output, err)
	}
	if len(out) != len(steps) {
		t.Fatalf("Run(hostprobe) = %q, want %d outcomes", out, len(steps))
	}
	return out, res
}

func step(op string, kv ...string) string {
	m := map[string]any{"op": op}
	for i := 0; i+1 < len(kv); i += 2 {
		if n, err := strconv.Atoi(kv[i+1]); err == nil && (kv[i] == "fd" || kv[i] == "cap") {
			m[kv[i]] = n
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestTooManyRequests(t *testing.T) {
	srv := newTestServer(t, nil)
	var steps []string
	for range testEgress.MaxRequests + 2 {
		steps = append(steps, step("fetch", "url", srv.base+"/ok"))
	}
	out, res := probe(t, sandbox.Invocation{Egress: []string{srv.grant}}, steps...)
	var want []string
	var wantEgress []attempt
	for range testEgress.MaxRequests {
		want = append(want, "ok: 200 hello from /ok")
		wantEgress = append(wantEgress, attempt{host: "127.0.0.1", port: srv.port, address: true, allowed: true})
	}
	want = append(want, "error: "+egress.CodeTooManyRequests, "error: "+egress.CodeTooManyRequests)
	// Only the first refusal past the cap is recorded.
	wantEgress = append(wantEgress, attempt{host: "127.0.0.1", port: srv.port, reason: egress.CodeTooManyRequests})
	if strings.Join(out, "\n") != strings.Join(want, "\n") {
		t.Errorf("Run(hostprobe, %d fetches) = %q, want %q", len(steps), out, want)
	}
	checkEgress(t, "Run(hostprobe, too many)", res.Egress, wantEgress)
}

// TestRebindingResolver: each request resolves its name once and connects
// to the address it checked; when the name's next answer is the metadata
// address, that request is refused without a connection.
func TestRebindingResolver(t *testing.T) {
	srv := newTestServer(t, nil)
	testResolver.set("rebind.test", "127.0.0.1", "169.254.169.254", "127.0.0.1")
	ps := strconv.Itoa(srv.port)
	u := "http://rebind.test:" + ps + "/ok"
	out, res := probe(t, sandbox.Invocation{Egress: []string{"http://rebind.test:" + ps, srv.grant}},
		step("fetch", "url", u), step("fetch", "url", u))
	if want := []string{"ok: 200 hello from /ok", "error: " + egress.CodeDeniedAddress}; strings.Join(out, "\n") != strings.Join(want, "\n") {
		t.Errorf("Run(hostprobe, rebinding) = %q, want %q", out, want)
	}
	if got := testResolver.count("rebind.test"); got != 2 {
		t.Errorf("resolver asked %d times for 2 requests, want 2 (one lookup per request)", got)
	}
	checkEgress(t, "Run(hostprobe, rebinding)", res.Egress, []attempt{
		{host: "rebind.test", port: srv.port, address: true, allowed: true},
		{host: "rebind.test", port: srv.port, reason: egress.CodeDeniedAddress},
	})
	if res.Egress[0].Address != "127.0.0.1:"+ps {
		t.Errorf("first request dialled %q, want the checked 127.0.0.1:%s", res.Egress[0].Address, ps)
	}
}

func TestSchemeOutsideHTTP(t *testing.T) {
	srv := newTestServer(t, nil)
	out, res := probe(t, sandbox.Invocation{Egress: []string{srv.grant}},
		step("fetch", "url", "ftp://127.0.0.1:"+strconv.Itoa(srv.port)+"/"),
		step("fetch", "url", "file:///etc/passwd"))
	for i, o := range out {
		if !strings.HasPrefix(o, "error: egress.") {
			t.Errorf("fetch #%d = %q, want an egress refusal", i, o)
		}
	}
	for _, e := range res.Egress {
		if e.Allowed || e.Address != "" || !strings.HasPrefix(e.Reason, "egress.") {
			t.Errorf("Egress entry %+v, want refused, nothing dialled", e)
		}
	}
}

// TestHostABI exercises toolwarden.http_request_v1 and http_reply_v1
// directly: faults, the two-call protocol and strict request decoding.
func TestHostABI(t *testing.T) {
	srv := newTestServer(t, nil)
	okReq := `{"url":"` + srv.base + `/ok"}`
	out, res := probe(t, sandbox.Invocation{Egress: []string{srv.grant}},
		step("fault"),
		step("noreply"),
		step("short", "json", okReq),
		step("raw", "json", okReq, "cap", "16"),
		step("raw", "json", `{"url":"x","url":"y"}`, "cap", "4096"),
		step("raw", "json", `{"URL":"`+srv.base+`/ok"}`, "cap", "4096"),
	)
	// Unreadable requests count against the per-call request cap (4 here)
	// like any other, so the rest go in a second call.
	out2, res2 := probe(t, sandbox.Invocation{Egress: []string{srv.grant}},
		step("raw", "json", `{"url":"`+srv.base+`/ok","headers":{"A":["1"],"A":["2"]}}`, "cap", "4096"),
		step("raw", "json", `{"url":"`+srv.base+`/ok"} {}`, "cap", "4096"),
		step("raw", "json", `["`+srv.base+`/ok"]`, "cap", "4096"),
		step("raw", "json", `{"url":"`+srv.base+`/ok","headers":{"Host":["evil.test"]}}`, "cap", "4096"),
	)
	if out[0] != "ok: -1" || out[1] != "ok: -2" {
		t.Errorf("fault, noreply = %q, %q; want ok: -1, ok: -2", out[0], out[1])
	}
	var n int
	if _, err := fmt.Sscanf(out[2], "ok: %d -3", &n); err != nil || n <= 1 {
		t.Errorf("short = %q, want the reply length and -3 (buffer too small, reply kept)", out[2])
	}
	var size int
	var reply struct {
		Response *egress.Response       `json:"response"`
		Error    *struct{ Code string } `json:"error"`
	}
	body, found := strings.CutPrefix(out[3], "ok: ")
	if found {
		sz, rest, _ := strings.Cut(body, " ")
		size, _ = strconv.Atoi(sz)
		if err := json.Unmarshal([]byte(rest), &reply); err != nil || size != len(rest) || reply.Response == nil || string(reply.Response.Body) != "hello from /ok" {
			t.Errorf("raw with a 16-byte buffer then http_reply_v1 = %q (%v), want the whole reply", out[3], err)
		}
	} else {
		t.Errorf("raw = %q, want ok", out[3])
	}
	for i, want := range []string{
		`duplicate key \"url\"`,
		`member \"URL\" differs from \"url\" only in case`,
		`duplicate key \"A\" at /headers`,
		`data after the JSON value`,
		`must be an object, not an array`,
		`header Host may not be set by a tool`,
	} {
		o := append(out[4:], out2...)[i]
		if !strings.Contains(o, `"code":"egress.invalid_request"`) || !strings.Contains(o, want) {
			t.Errorf("raw request #%d = %q, want egress.invalid_request: %s", i, o, want)
		}
	}
	// Malformed requests never reach the network, and each is recorded as
	// a refusal (no host to name); the Host header one is refused by the
	// client and recorded with its host.
	unreadable := attempt{host: egress.UnreadableHost, reason: egress.CodeInvalidRequest}
	checkEgress(t, "Run(hostprobe, ABI)", res.Egress, []attempt{
		{host: "127.0.0.1", port: srv.port, address: true, allowed: true},
		{host: "127.0.0.1", port: srv.port, address: true, allowed: true},
		unreadable, unreadable,
	})
	checkEgress(t, "Run(hostprobe, ABI) #2", res2.Egress, []attempt{
		unreadable, unreadable, unreadable,
		{host: "127.0.0.1", port: srv.port, reason: egress.CodeInvalidRequest},
	})
}

func TestPrepareHostImports(t *testing.T) {
	r := sharedRunner(t)
	i32s := func(n int) []byte { return []byte(strings.Repeat(string(rune(i32)), n)) }
	for _, tc := range []struct {
		name    string
		imports []wasiImport
		ok      bool
	}{
		{"http_request_v1", []wasiImport{{abi.FuncRequest, i32s(4), i32s(1)}}, true},
		{"both functions", []wasiImport{{abi.FuncRequest, i32s(4), i32s(1)}, {abi.FuncReply, i32s(2), i32s(1)}}, true},
		{"wrong signature", []wasiImport{{abi.FuncRequest, i32s(2), i32s(1)}}, false},
		{"unknown function", []wasiImport{{"exec_v1", i32s(2), i32s(1)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModule{imports: tc.imports, importAs: abi.HostModule}
			p, err := r.Prepare(context.Background(), pin(t, "host", writeModule(t, m)))
			if err == nil {
				p.Close(context.Background())
			}
			if (err == nil) != tc.ok {
				t.Errorf("Prepare(module importing %s.%v) error = %v, want ok = %v", abi.HostModule, tc.imports, err, tc.ok)
			}
			if err != nil && codeOf(err) != sandbox.CodeLoad {
				t.Errorf("Prepare code = %q, want %q", codeOf(err), sandbox.CodeLoad)
			}
		})
	}
}

func TestConfigEgressIsChecked(t *testing.T) {
	_, err := New(Config{Egress: egress.Config{MaxRequests: -1}})
	if err == nil || !strings.Contains(err.Error(), "Config.Egress") {
		t.Errorf("New(negative MaxRequests) error = %v, want one naming Config.Egress", err)
	}
}

func TestDecodeHTTPRequest(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"url":"http://a.test/"}`, true},
		{`{"method":"POST","url":"http://a.test/","headers":{"A":["1","2"],"a":["3"]},"body":"aGk="}`, false}, // one header under two spellings: refused
		{`{"url":"http://a.test/","headers":null}`, true},
		{`{"url":"http://a.test/","headers":[]}`, false},
		{`{"url":"http://a.test/","headers":{"A":"1"}}`, false},
		{`{"url":"http://a.test/","body":"not base64!"}`, false},
		{`{"url":"http://a.test/","ſ":1}`, false},
		{`{"url":"http://a.test/","Method":"GET"}`, false},
		{"{\"url\":\"\xff\"}", false},
		{`{"url":1}`, false},
		{``, false},
		{`null`, false},
	} {
		_, err := abi.DecodeRequest([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("abi.DecodeRequest(%s) error = %v, want ok = %v", tc.in, err, tc.ok)
		}
	}
}

// TestHTTPRequestEndsWithTheCall: a request still waiting when the call
// reaches its time limit is abandoned, the call is a timeout, and the
// record says so.
func TestHTTPRequestEndsWithTheCall(t *testing.T) {
	release := make(chan struct{})
	srv := newTestServer(t, map[string]http.HandlerFunc{"/hang": func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}})
	defer close(release)
	lim := limits()
	// Long enough that the module is surely running and its request made
	// before the limit, even under -race on a loaded machine (300 ms was
	// not: the call could end before the request, with no attempt to see).
	lim.Timeout = 2 * time.Second
	res, err := goProgram(t, "httpfetch").Run(context.Background(), sandbox.Invocation{
		Args: []byte(`{"url":"` + srv.base + `/hang"}`), Limits: lim, Egress: []string{srv.grant},
	})
	if codeOf(err) != sandbox.CodeTimeout {
		t.Fatalf("Run(httpfetch /hang) code = %q (%v), want %q", codeOf(err), err, sandbox.CodeTimeout)
	}
	checkEgress(t, "Run(httpfetch /hang)", res.Egress, []attempt{{host: "127.0.0.1", port: srv.port, address: true, allowed: true, reason: egress.CodeTimeout}})
}

// FuzzDecodeHTTPRequest: the host function's request decoder never
// panics, and what it accepts re-encodes to a request it accepts again,
// unchanged.
func FuzzDecodeHTTPRequest(f *testing.F) {
	for _, s := range []string{
		`{"url":"http://a.test/"}`,
		`{"method":"POST","url":"https://a.test/x","headers":{"A":["1"],"b":["2","3"]},"body":"aGk="}`,
		`{"url":"x","url":"y"}`,
		`{"URL":"x"}`,
		`{"url":"x","headers":{"A":["1"],"A":["2"]}}`,
		`{"url":"x"} {}`,
		`[]`,
		`{"url":"x","headers":null,"body":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := abi.DecodeRequest(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", req, err)
		}
		req2, err := abi.DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request %s rejected: %v", again, err)
		}
		norm := func(h map[string][]string) map[string][]string {
			if len(h) == 0 {
				return nil
			}
			return h
		}
		req.Headers, req2.Headers = norm(req.Headers), norm(req2.Headers)
		if len(req.Body) == 0 {
			req.Body = nil
		}
		if len(req2.Body) == 0 {
			req2.Body = nil
		}
		if !reflect.DeepEqual(req, req2) {
			t.Fatalf("round trip changed %+v into %+v", req, req2)
		}
	})
}
