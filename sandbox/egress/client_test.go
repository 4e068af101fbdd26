package egress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeResolver answers from a table. Each name has a list of successive
// answers; the last one repeats. Unknown names do not resolve.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

func newResolver(answers map[string][][]string) *fakeResolver {
	r := &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
	for name, list := range answers {
		for _, answer := range list {
			var addrs []netip.Addr
			for _, a := range answer {
				addrs = append(addrs, netip.MustParseAddr(a))
			}
			r.answers[name] = append(r.answers[name], addrs)
		}
	}
	return r
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.calls[host]
	r.calls[host]++
	list, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return slices.Clone(list[min(n, len(list)-1)]), nil
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

// server is an httptest server on 127.0.0.1 that counts the requests it
// receives.
type server struct {
	*httptest.Server
	port int
	hits atomic.Int64
}

func newServer(t testing.TB, useTLS bool) *server {
	t.Helper()
	s := &server{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { w.Write(bytes.Repeat([]byte("x"), 5000)) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusFound
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		w.Header().Set("Location", r.URL.Query().Get("to"))
		w.WriteHeader(status)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "method=%s auth=%q host=%s body=%q", r.Method, r.Header.Get("Authorization"), r.Host, body)
	})
	mux.HandleFunc("/slow", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		mux.ServeHTTP(w, r)
	})
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if useTLS {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	s.port = s.Listener.Addr().(*net.TCPAddr).Port
	return s
}

func newClient(t *testing.T, allow []string, res Resolver, cfg Config) *Client {
	t.Helper()
	a, err := ParseAllowlist(allow)
	if err != nil {
		t.Fatalf("ParseAllowlist(%q): %v", allow, err)
	}
	cfg.Allow, cfg.Resolver = a, res
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// checkAttempts compares attempts; in want, BytesOut and BytesIn of 1 mean
// "some bytes" and 0 means none.
func checkAttempts(t *testing.T, got, want []Attempt) {
	t.Helper()
	norm := slices.Clone(got)
	for i := range norm {
		norm[i].BytesOut, norm[i].BytesIn = min(norm[i].BytesOut, 1), min(norm[i].BytesIn, 1)
	}
	if !slices.Equal(norm, want) {
		t.Errorf("Attempts() =\n%s\nwant\n%s", fmtAttempts(got), fmtAttempts(want))
	}
}

func fmtAttempts(as []Attempt) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "  %+v\n", a)
	}
	return b.String()
}

func TestClientDo(t *testing.T) {
	srv := newServer(t, false)
	other := newServer(t, false)
	p := srv.port
	ps := strconv.Itoa(p)
	local := "127.0.0.1:" + ps
	base := "http://127.0.0.1:" + ps
	grant := "http://127.0.0.1:" + ps
	redirect := func(to string) string { return base + "/redirect?to=" + url.QueryEscape(to) }
	ok := func(host string) Attempt {
		return Attempt{Host: host, Port: p, Address: local, Allowed: true, BytesOut: 1, BytesIn: 1}
	}
	refused := func(host string, port int, code string) Attempt {
		return Attempt{Host: host, Port: port, Reason: code}
	}

	tests := []struct {
		name       string
		allow      []string
		dns        map[string][][]string
		cfg        Config
		req        Request
		wantCode   string
		wantStatus int
		wantBody   string
		want       []Attempt
	}{
		{
			name: "allowed fetch by IP", allow: []string{grant},
			req: Request{URL: base + "/ok"}, wantStatus: 200, wantBody: "hello",
			want: []Attempt{ok("127.0.0.1")},
		},
		{
			name: "allowed fetch by name granted with its address", allow: []string{"http://svc.test:" + ps, grant},
			dns: map[string][][]string{"svc.test": {{"127.0.0.1"}}},
			req: Request{URL: "http://SVC.test.:" + ps + "/headers"}, wantStatus: 200,
			wantBody: `method=GET auth="" host=svc.test:` + ps + ` body=""`,
			want:     []Attempt{ok("svc.test")},
		},
		{
			name: "name resolving to loopback without an IP grant", allow: []string{"http://svc.test:" + ps},
			dns: map[string][][]string{"svc.test": {{"127.0.0.1"}}},
			req: Request{URL: "http://svc.test:" + ps + "/ok"}, wantCode: CodeDeniedAddress,
			want: []Attempt{refused("svc.test", p, CodeDeniedAddress)},
		},
		{
			name: "name resolving to the metadata address", allow: []string{"http://metadata.test:80"},
			dns: map[string][][]string{"metadata.test": {{"169.254.169.254"}}},
			req: Request{URL: "http://metadata.test/latest/meta-data/"}, wantCode: CodeDeniedAddress,
			want: []Attempt{refused("metadata.test", 80, CodeDeniedAddress)},
		},
		{
			name: "name resolving to public and private at once", allow: []string{"https://mixed.test:443"},
			dns: map[string][][]string{"mixed.test": {{"93.184.216.34", "10.0.0.1"}}},
			req: Request{URL: "https://mixed.test/"}, wantCode: CodeDeniedAddress,
			want: []Attempt{refused("mixed.test", 443, CodeDeniedAddress)},
		},
		{
			name: "name resolving to NAT64 of loopback", allow: []string{"https://nat.test:443"},
			dns: map[string][][]string{"nat.test": {{"64:ff9b::7f00:1"}}},
			req: Request{URL: "https://nat.test/"}, wantCode: CodeDeniedAddress,
			want: []Attempt{refused("nat.test", 443, CodeDeniedAddress)},
		},
		{
			name: "name resolving to IPv4-mapped loopback granted by IP", allow: []string{"http://svc.test:" + ps, grant},
			dns: map[string][][]string{"svc.test": {{"::ffff:127.0.0.1"}}},
			req: Request{URL: "http://svc.test:" + ps + "/ok"}, wantStatus: 200, wantBody: "hello",
			want: []Attempt{ok("svc.test")},
		},
		{
			name: "dns failure", allow: []string{"http://nx.test:" + ps},
			req: Request{URL: "http://nx.test:" + ps + "/"}, wantCode: CodeDNS,
			want: []Attempt{refused("nx.test", p, CodeDNS)},
		},
		{
			name: "host not in allowlist", allow: []string{grant},
			req: Request{URL: "http://other.test:" + ps + "/"}, wantCode: CodeDeniedHost,
			want: []Attempt{refused("other.test", p, CodeDeniedHost)},
		},
		{
			name: "port not granted", allow: []string{grant},
			req: Request{URL: other.URL + "/ok"}, wantCode: CodeDeniedPort,
			want: []Attempt{refused("127.0.0.1", other.port, CodeDeniedPort)},
		},
		{
			name: "scheme not granted", allow: []string{grant},
			req: Request{URL: "https://127.0.0.1:" + ps + "/ok"}, wantCode: CodeDeniedScheme,
			want: []Attempt{refused("127.0.0.1", p, CodeDeniedScheme)},
		},
		{
			name: "scheme not http", allow: []string{grant},
			req: Request{URL: "ftp://127.0.0.1:" + ps + "/"}, wantCode: CodeDeniedScheme,
			want: []Attempt{refused("127.0.0.1", p, CodeDeniedScheme)},
		},
		{
			name: "userinfo", allow: []string{grant},
			req: Request{URL: "http://user:secret@127.0.0.1:" + ps + "/ok"}, wantCode: CodeUserinfo,
			want: []Attempt{refused("127.0.0.1", p, CodeUserinfo)},
		},
		{
			name: "IPv6 zone", allow: []string{grant},
			req: Request{URL: "http://[fe80::1%25lo]:" + ps + "/"}, wantCode: CodeDeniedAddress,
			want: []Attempt{refused("fe80::1%lo", p, CodeDeniedAddress)},
		},
		{
			name: "invalid URL", allow: []string{grant},
			req: Request{URL: "http://a..b:" + ps + "/"}, wantCode: CodeInvalidRequest,
			want: []Attempt{refused("a..b", p, CodeInvalidRequest)},
		},
		{
			name: "method not allowed", allow: []string{grant},
			req: Request{Method: "CONNECT", URL: base + "/ok"}, wantCode: CodeInvalidRequest,
			want: []Attempt{refused("127.0.0.1", p, CodeInvalidRequest)},
		},
		{
			name: "framing header refused", allow: []string{grant},
			req:      Request{URL: base + "/ok", Headers: map[string][]string{"host": {"metadata.google.internal"}}},
			wantCode: CodeInvalidRequest,
			want:     []Attempt{refused("127.0.0.1", p, CodeInvalidRequest)},
		},
		{
			name: "header value with CRLF refused", allow: []string{grant},
			req:      Request{URL: base + "/ok", Headers: map[string][]string{"X-A": {"a\r\nHost: evil"}}},
			wantCode: CodeInvalidRequest,
			want:     []Attempt{refused("127.0.0.1", p, CodeInvalidRequest)},
		},
		{
			name: "redirect followed", allow: []string{grant},
			req: Request{URL: redirect("/ok")}, wantStatus: 200, wantBody: "hello",
			want: []Attempt{ok("127.0.0.1"), ok("127.0.0.1")},
		},
		{
			name: "307 keeps method and body", allow: []string{grant},
			req:        Request{Method: "POST", URL: redirect("/headers") + "&status=307", Body: []byte("data")},
			wantStatus: 200, wantBody: `method=POST auth="" host=127.0.0.1:` + ps + ` body="data"`,
			want: []Attempt{ok("127.0.0.1"), ok("127.0.0.1")},
		},
		{
			name: "302 turns POST into GET", allow: []string{grant},
			req:        Request{Method: "POST", URL: redirect("/headers"), Body: []byte("data")},
			wantStatus: 200, wantBody: `method=GET auth="" host=127.0.0.1:` + ps + ` body=""`,
			want: []Attempt{ok("127.0.0.1"), ok("127.0.0.1")},
		},
		{
			name: "redirect to the metadata address", allow: []string{grant},
			req: Request{URL: redirect("http://169.254.169.254/latest/meta-data/")}, wantCode: CodeDeniedAddress,
			want: []Attempt{ok("127.0.0.1"), refused("169.254.169.254", 80, CodeDeniedAddress)},
		},
		{
			name: "redirect to a host outside the grant", allow: []string{grant},
			req: Request{URL: redirect("http://evil.test:" + ps + "/ok")}, wantCode: CodeDeniedHost,
			want: []Attempt{ok("127.0.0.1"), refused("evil.test", p, CodeDeniedHost)},
		},
		{
			name: "redirect to a granted name that resolves privately", allow: []string{grant, "http://inside.test:" + ps},
			dns: map[string][][]string{"inside.test": {{"10.0.0.5"}}},
			req: Request{URL: redirect("http://inside.test:" + ps + "/ok")}, wantCode: CodeDeniedAddress,
			want: []Attempt{ok("127.0.0.1"), refused("inside.test", p, CodeDeniedAddress)},
		},
		{
			name: "redirect to an integer IPv4 literal", allow: []string{grant},
			req: Request{URL: redirect("http://2852039166/")}, wantCode: CodeDeniedAddress,
			want: []Attempt{ok("127.0.0.1"), refused("169.254.169.254", 80, CodeDeniedAddress)},
		},
		{
			name: "redirect with userinfo", allow: []string{grant},
			req: Request{URL: redirect("http://u:p@127.0.0.1:" + ps + "/ok")}, wantCode: CodeUserinfo,
			want: []Attempt{ok("127.0.0.1"), refused("127.0.0.1", p, CodeUserinfo)},
		},
		{
			name: "redirect to another scheme", allow: []string{grant},
			req: Request{URL: redirect("https://127.0.0.1:" + ps + "/ok")}, wantCode: CodeDeniedScheme,
			want: []Attempt{ok("127.0.0.1"), refused("127.0.0.1", p, CodeDeniedScheme)},
		},
		{
			name: "too many redirects", allow: []string{grant}, cfg: Config{MaxRedirects: 2},
			req: Request{URL: base + "/loop"}, wantCode: CodeRedirects,
			want: []Attempt{ok("127.0.0.1"), ok("127.0.0.1"), ok("127.0.0.1"), refused("127.0.0.1", p, CodeRedirects)},
		},
		{
			name: "response over the cap", allow: []string{grant}, cfg: Config{MaxResponseBytes: 1000},
			req: Request{URL: base + "/big"}, wantCode: CodeResponseTooLarge, wantStatus: 200, wantBody: strings.Repeat("x", 1000),
			want: []Attempt{{Host: "127.0.0.1", Port: p, Address: local, Allowed: true, Reason: CodeResponseTooLarge, BytesOut: 1, BytesIn: 1}},
		},
		{
			name: "request body over the cap", allow: []string{grant}, cfg: Config{MaxRequestBytes: 100},
			req: Request{Method: "POST", URL: base + "/headers", Body: bytes.Repeat([]byte("y"), 200)}, wantCode: CodeRequestTooLarge,
			want: []Attempt{refused("127.0.0.1", p, CodeRequestTooLarge)},
		},
		{
			name: "timeout", allow: []string{grant}, cfg: Config{RequestTimeout: 200 * time.Millisecond},
			req: Request{URL: base + "/slow"}, wantCode: CodeTimeout,
			want: []Attempt{{Host: "127.0.0.1", Port: p, Address: local, Allowed: true, Reason: CodeTimeout, BytesOut: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.allow, newResolver(tt.dns), tt.cfg)
			hits := srv.hits.Load()
			res, err := c.Do(context.Background(), tt.req)
			if got := code(err); got != tt.wantCode {
				t.Fatalf("Do(%q) code = %q, want %q (err %v)", tt.req.URL, got, tt.wantCode, err)
			}
			if tt.wantStatus != 0 {
				if res == nil {
					t.Fatalf("Do(%q) response = nil, want status %d", tt.req.URL, tt.wantStatus)
				}
				if res.Status != tt.wantStatus || string(res.Body) != tt.wantBody {
					t.Errorf("Do(%q) = %d %q, want %d %q", tt.req.URL, res.Status, res.Body, tt.wantStatus, tt.wantBody)
				}
				if res.Truncated != (tt.wantCode == CodeResponseTooLarge) {
					t.Errorf("Do(%q) Truncated = %v", tt.req.URL, res.Truncated)
				}
			} else if res != nil {
				t.Errorf("Do(%q) response = %+v, want nil", tt.req.URL, res)
			}
			checkAttempts(t, c.Attempts(), tt.want)
			var dialled int64
			for _, a := range tt.want {
				if a.Address != "" {
					dialled++
				}
			}
			if got := srv.hits.Load() - hits; got != dialled {
				t.Errorf("server saw %d requests, want %d", got, dialled)
			}
		})
	}
}

// TestClientAddressClasses checks every forbidden address class, reached as
// a URL literal and as the answer for a granted name, and that naming the
// address in the grant is what lets it through.
func TestClientAddressClasses(t *testing.T) {
	addrs := []string{
		"127.0.0.1", "127.8.9.10", "::1", // loopback
		"10.1.2.3", "172.16.0.1", "192.168.1.1", // RFC 1918
		"169.254.169.254", "169.254.0.1", "fe80::1", // link-local
		"100.64.0.1",         // CGNAT
		"fc00::1", "fd00::1", // unique local
		"224.0.0.1", "ff02::1", // multicast
		"0.0.0.0", "::", // unspecified
		"255.255.255.255",                                         // broadcast
		"0.1.2.3",                                                 // this network
		"192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1", // documentation
		"198.18.0.1", "2001:2::1", // benchmarking
		"240.0.0.1",                             // reserved
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", // NAT64 of loopback, metadata
		"2002:7f00:1::1", "2002:a9fe:a9fe::1", // 6to4 of loopback, metadata
		"2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo client 127.0.0.1
		"::ffff:0:a00:1",                       // IPv4-translated 10.0.0.1
	}
	for _, addr := range addrs {
		a := netip.MustParseAddr(addr)
		host := a.String()
		if a.Is6() {
			host = "[" + host + "]"
		}
		canon := unwrap(a).String()
		t.Run(addr, func(t *testing.T) {
			if Classify(a) == ClassPublic {
				t.Fatalf("Classify(%s) = public", addr)
			}
			c := newClient(t, []string{"https://svc.test:443"}, newResolver(map[string][][]string{"svc.test": {{addr}}}), Config{})
			_, err := c.Do(context.Background(), Request{URL: "https://" + host + "/"})
			if got := code(err); got != CodeDeniedAddress {
				t.Errorf("Do(literal %s) code = %q, want %q", addr, got, CodeDeniedAddress)
			}
			_, err = c.Do(context.Background(), Request{URL: "https://svc.test/"})
			if got := code(err); got != CodeDeniedAddress {
				t.Errorf("Do(name resolving to %s) code = %q, want %q", addr, got, CodeDeniedAddress)
			}
			checkAttempts(t, c.Attempts(), []Attempt{
				{Host: canon, Port: 443, Reason: CodeDeniedAddress},
				{Host: "svc.test", Port: 443, Reason: CodeDeniedAddress},
			})

			// Named by IP, the same address passes the checks (and then
			// fails to connect, or connects and fails TLS: nothing listens).
			named := newClient(t, []string{"https://svc.test:443", "https://" + host + ":443"},
				newResolver(map[string][][]string{"svc.test": {{addr}}}), Config{})
			tg, err := Check("https://svc.test/")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := named.dialer.Resolve(context.Background(), tg); err != nil {
				t.Errorf("Resolve(name resolving to %s) with %s granted: %v", addr, addr, err)
			}
		})
	}
}

// TestClientLiteralForms checks that every IPv4 literal form reaches the
// address it means, and is refused where that address is not granted.
func TestClientLiteralForms(t *testing.T) {
	srv := newServer(t, false)
	ps := strconv.Itoa(srv.port)
	forms := []string{"127.0.0.1", "2130706433", "0x7f000001", "017700000001", "0x7f.1", "0177.0.0.1", "127.1", "127.0.1", "0x7F.0.0.0x1", "127.0.0.1.", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]"}
	for _, form := range forms {
		t.Run(form, func(t *testing.T) {
			u := "http://" + form + ":" + ps + "/ok"
			c := newClient(t, []string{"http://127.0.0.1:" + ps}, nil, Config{})
			res, err := c.Do(context.Background(), Request{URL: u})
			if err != nil || res.Status != 200 {
				t.Fatalf("Do(%q) with 127.0.0.1 granted = %+v, %v; want 200", u, res, err)
			}
			checkAttempts(t, c.Attempts(), []Attempt{{Host: "127.0.0.1", Port: srv.port, Address: "127.0.0.1:" + ps, Allowed: true, BytesOut: 1, BytesIn: 1}})

			c = newClient(t, []string{"http://localhost:" + ps}, nil, Config{})
			if _, err := c.Do(context.Background(), Request{URL: u}); code(err) != CodeDeniedAddress {
				t.Errorf("Do(%q) without an IP grant code = %q, want %q", u, code(err), CodeDeniedAddress)
			}
			checkAttempts(t, c.Attempts(), []Attempt{{Host: "127.0.0.1", Port: srv.port, Reason: CodeDeniedAddress}})
		})
	}
}

// TestClientRebinding checks that the connection goes to the address that
// was checked, with one lookup per hop, whatever the resolver says next.
func TestClientRebinding(t *testing.T) {
	srv := newServer(t, false)
	ps := strconv.Itoa(srv.port)
	res := newResolver(map[string][][]string{"rebind.test": {{"93.184.216.34"}, {"127.0.0.1"}, {"169.254.169.254"}}})
	c := newClient(t, []string{"http://rebind.test:" + ps}, res, Config{})
	var mu sync.Mutex
	var dialled []string
	// The public address stands for a real server: connect it to ours, and
	// record what the dialer asked for.
	c.dialer.dial = func(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, ap.String())
		mu.Unlock()
		if ap.Addr() != netip.MustParseAddr("93.184.216.34") {
			return nil, fmt.Errorf("dialled unchecked address %s", ap)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}
	r, err := c.Do(context.Background(), Request{URL: "http://rebind.test:" + ps + "/ok"})
	if err != nil || r.Status != 200 {
		t.Fatalf("Do(first answer public) = %+v, %v; want 200", r, err)
	}
	if got := res.count("rebind.test"); got != 1 {
		t.Errorf("resolver called %d times for one request, want 1", got)
	}
	if want := []string{"93.184.216.34:" + ps}; !slices.Equal(dialled, want) {
		t.Errorf("dialled %q, want %q", dialled, want)
	}
	// The next request resolves again and gets the private answer: refused,
	// nothing dialled.
	if _, err := c.Do(context.Background(), Request{URL: "http://rebind.test:" + ps + "/ok"}); code(err) != CodeDeniedAddress {
		t.Errorf("Do(second answer loopback) code = %q, want %q", code(err), CodeDeniedAddress)
	}
	if len(dialled) != 1 {
		t.Errorf("dialled %q after a refused answer, want one dial", dialled)
	}
	checkAttempts(t, c.Attempts(), []Attempt{
		{Host: "rebind.test", Port: srv.port, Address: "93.184.216.34:" + ps, Allowed: true, BytesOut: 1, BytesIn: 1},
		{Host: "rebind.test", Port: srv.port, Reason: CodeDeniedAddress},
	})
}

// TestDialer checks the exported dialer on its real dial path, including
// the socket-level address check.
func TestDialer(t *testing.T) {
	srv := newServer(t, false)
	ps := strconv.Itoa(srv.port)
	a, err := ParseAllowlist([]string{"http://svc.test:" + ps, "http://127.0.0.1:" + ps, "http://mixed.test:" + ps})
	if err != nil {
		t.Fatal(err)
	}
	res := newResolver(map[string][][]string{
		"svc.test":   {{"127.0.0.1"}, {"10.0.0.1"}},
		"mixed.test": {{"127.0.0.1", "10.0.0.1"}},
	})
	d, err := NewDialer(DialerConfig{Allow: a, Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, wantCode, wantRemote string
	}{
		{"http://svc.test:" + ps, "", "127.0.0.1:" + ps},
		{"http://svc.test:" + ps, CodeDeniedAddress, ""}, // the second answer
		{"http://mixed.test:" + ps, CodeDeniedAddress, ""},
		{"http://127.0.0.1:" + ps, "", "127.0.0.1:" + ps},
		{"http://other.test:" + ps, CodeDeniedHost, ""},
	}
	for _, tt := range tests {
		tg, err := Check(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := d.Dial(context.Background(), tg)
		if got := code(err); got != tt.wantCode {
			t.Errorf("Dial(%q) code = %q, want %q (err %v)", tt.url, got, tt.wantCode, err)
		}
		if conn != nil {
			if got := conn.RemoteAddr().String(); got != tt.wantRemote {
				t.Errorf("Dial(%q) RemoteAddr = %s, want %s", tt.url, got, tt.wantRemote)
			}
			conn.Close()
		}
	}
	if _, err := dialTCP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+ps)); err != nil {
		t.Errorf("dialTCP(checked address): %v", err)
	}
}

func TestClientTooManyRequests(t *testing.T) {
	srv := newServer(t, false)
	ps := strconv.Itoa(srv.port)
	c := newClient(t, []string{"http://127.0.0.1:" + ps}, nil, Config{MaxRequests: 2})
	want := []string{"", "", CodeTooManyRequests, CodeTooManyRequests}
	for i, w := range want {
		if _, err := c.Do(context.Background(), Request{URL: srv.URL + "/ok"}); code(err) != w {
			t.Errorf("Do #%d code = %q, want %q", i+1, code(err), w)
		}
	}
	ok := Attempt{Host: "127.0.0.1", Port: srv.port, Address: "127.0.0.1:" + ps, Allowed: true, BytesOut: 1, BytesIn: 1}
	// Only the first refusal past the cap is recorded.
	checkAttempts(t, c.Attempts(), []Attempt{ok, ok, {Host: "127.0.0.1", Port: srv.port, Reason: CodeTooManyRequests}})
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
}

// TestClientBudgets checks that byte caps hold for the whole call, across
// requests.
func TestClientBudgets(t *testing.T) {
	srv := newServer(t, false)
	ps := strconv.Itoa(srv.port)
	c := newClient(t, []string{"http://127.0.0.1:" + ps}, nil, Config{MaxResponseBytes: 7})
	r, err := c.Do(context.Background(), Request{URL: srv.URL + "/ok"})
	if err != nil || string(r.Body) != "hello" {
		t.Fatalf("first Do = %+v, %v; want hello", r, err)
	}
	r, err = c.Do(context.Background(), Request{URL: srv.URL + "/ok"})
	if code(err) != CodeResponseTooLarge || r == nil || string(r.Body) != "he" || !r.Truncated {
		t.Errorf("second Do = %+v, %v; want truncated \"he\" and %s", r, err, CodeResponseTooLarge)
	}

	u := srv.URL + "/headers"
	size := int64(len("POST") + len(u) + 10)
	c = newClient(t, []string{"http://127.0.0.1:" + ps}, nil, Config{MaxRequestBytes: 2 * size})
	body := bytes.Repeat([]byte("z"), 10)
	for i, want := range []string{"", "", CodeRequestTooLarge} {
		if _, err := c.Do(context.Background(), Request{Method: "POST", URL: u, Body: body}); code(err) != want {
			t.Errorf("POST #%d code = %q, want %q", i+1, code(err), want)
		}
	}
}

func TestClientRedirectDropsCredentials(t *testing.T) {
	srv := newServer(t, false)
	other := newServer(t, false)
	c := newClient(t, []string{"http://127.0.0.1:" + strconv.Itoa(srv.port), "http://127.0.0.1:" + strconv.Itoa(other.port)}, nil, Config{})
	auth := map[string][]string{"Authorization": {"Bearer secret"}}
	tests := []struct {
		to, wantAuth string
	}{
		{"/headers", `auth="Bearer secret"`},
		{other.URL + "/headers", `auth=""`},
	}
	for _, tt := range tests {
		r, err := c.Do(context.Background(), Request{URL: srv.URL + "/redirect?to=" + url.QueryEscape(tt.to), Headers: auth})
		if err != nil {
			t.Fatalf("Do(redirect to %s): %v", tt.to, err)
		}
		if !strings.Contains(string(r.Body), tt.wantAuth) {
			t.Errorf("redirect to %s: server saw %q, want %s", tt.to, r.Body, tt.wantAuth)
		}
	}
}

func TestClientHTTPS(t *testing.T) {
	srv := newServer(t, true)
	ps := strconv.Itoa(srv.port)
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := newClient(t, []string{"https://127.0.0.1:" + ps}, nil, Config{TLSConfig: tlsConfig})
	r, err := c.Do(context.Background(), Request{URL: srv.URL + "/ok"})
	if err != nil || r.Status != 200 || string(r.Body) != "hello" {
		t.Fatalf("Do(https) = %+v, %v; want 200 hello", r, err)
	}
	// Without the test CA the certificate is not trusted: the exchange
	// fails after the checks passed.
	c = newClient(t, []string{"https://127.0.0.1:" + ps}, nil, Config{})
	if _, err := c.Do(context.Background(), Request{URL: srv.URL + "/ok"}); code(err) != CodeConnect {
		t.Errorf("Do(https, untrusted) code = %q, want %q", code(err), CodeConnect)
	}
	checkAttempts(t, c.Attempts(), []Attempt{{Host: "127.0.0.1", Port: srv.port, Address: "127.0.0.1:" + ps, Allowed: true, Reason: CodeConnect, BytesOut: 1, BytesIn: 1}})
}

func TestClientConcurrent(t *testing.T) {
	srv := newServer(t, false)
	const n = 8
	c := newClient(t, []string{"http://127.0.0.1:" + strconv.Itoa(srv.port)}, nil, Config{MaxRequests: n})
	var wg sync.WaitGroup
	var okCount, refused atomic.Int64
	for range n + 4 {
		wg.Go(func() {
			_, err := c.Do(context.Background(), Request{URL: srv.URL + "/ok"})
			switch code(err) {
			case "":
				okCount.Add(1)
			case CodeTooManyRequests:
				refused.Add(1)
			default:
				t.Errorf("Do: %v", err)
			}
		})
	}
	wg.Wait()
	if okCount.Load() != n || refused.Load() != 4 {
		t.Errorf("ok %d, refused %d; want %d and 4", okCount.Load(), refused.Load(), n)
	}
	if got := len(c.Attempts()); got != n+1 {
		t.Errorf("len(Attempts()) = %d, want %d", got, n+1)
	}
}

func TestNew(t *testing.T) {
	a, err := ParseAllowlist(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"nil allowlist", Config{}, "egress: Config.Allow is nil"},
		{"negative requests", Config{Allow: a, MaxRequests: -1}, "egress: Config.MaxRequests is negative"},
		{"negative request bytes", Config{Allow: a, MaxRequestBytes: -1}, "egress: Config.MaxRequestBytes is negative"},
		{"negative response bytes", Config{Allow: a, MaxResponseBytes: -1}, "egress: Config.MaxResponseBytes is negative"},
		{"negative timeout", Config{Allow: a, RequestTimeout: -1}, "egress: Config.RequestTimeout is negative"},
		{"negative redirects", Config{Allow: a, MaxRedirects: -1}, "egress: Config.MaxRedirects is negative"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || err.Error() != tt.wantErr {
			t.Errorf("New(%s) error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	c, err := New(Config{Allow: a})
	if err != nil {
		t.Fatal(err)
	}
	if c.maxRequests != DefaultMaxRequests || c.maxRequestBytes != DefaultMaxRequestBytes ||
		c.maxResponseBytes != DefaultMaxResponseBytes || c.timeout != DefaultRequestTimeout || c.maxRedirects != DefaultMaxRedirects {
		t.Errorf("New(zero limits) = %+v, want the defaults", c)
	}
	// An empty allowlist allows nothing.
	if _, err := c.Do(context.Background(), Request{URL: "https://example.com/"}); code(err) != CodeDeniedHost {
		t.Errorf("Do with an empty allowlist code = %q, want %q", code(err), CodeDeniedHost)
	}
}
