package egress

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
)

// BenchmarkEgressCheck measures what the egress rules add to one request,
// DNS excluded: the URL check, the allowlist check and the check of one
// resolved address. Compare it with BenchmarkPlainLoopbackGET.
func BenchmarkEgressCheck(b *testing.B) {
	allow, err := ParseAllowlist([]string{
		"https://api.example.com:443",
		"https://*.wiki.example:443",
		"http://127.0.0.1:8080",
		"https://10.0.0.0/8:443",
		"https://[fd00::/8]:443",
	})
	if err != nil {
		b.Fatal(err)
	}
	resolved := netip.MustParseAddr("93.184.216.34")
	for b.Loop() {
		t, err := Check("https://en.wiki.example/wiki/Go?action=raw")
		if err != nil {
			b.Fatal(err)
		}
		if err := allow.CheckTarget(t); err != nil {
			b.Fatal(err)
		}
		if err := allow.CheckAddr(t, resolved); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlainLoopbackGET is the baseline: one plain net/http GET to a
// loopback test server, with keep-alive.
func BenchmarkPlainLoopbackGET(b *testing.B) {
	srv := newServer(b, false)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for b.Loop() {
		resp, err := client.Get(srv.URL + "/ok")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

// BenchmarkClientLoopbackGET is the same GET through a fresh Client per
// call (as a runtime makes one per tool call), by name through a fake
// resolver: checks, one lookup, a new connection, the exchange, the record.
func BenchmarkClientLoopbackGET(b *testing.B) {
	srv := newServer(b, false)
	ps := strconv.Itoa(srv.port)
	allow, err := ParseAllowlist([]string{"http://svc.test:" + ps, "http://127.0.0.1:" + ps})
	if err != nil {
		b.Fatal(err)
	}
	res := newResolver(map[string][][]string{"svc.test": {{"127.0.0.1"}}})
	ctx := context.Background()
	for b.Loop() {
		c, err := New(Config{Allow: allow, Resolver: res})
		if err != nil {
			b.Fatal(err)
		}
		r, err := c.Do(ctx, Request{URL: "http://svc.test:" + ps + "/ok"})
		if err != nil || r.Status != 200 {
			b.Fatalf("Do = %+v, %v", r, err)
		}
	}
}
