package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/sandbox"
)

// TestStdioConcurrencyCap sends more parallel calls on one stdio stream
// than the tenant may have in flight: never more than the cap run at once,
// each call past it is refused with limit.concurrency, and each refusal
// is recorded.
func TestStdioConcurrencyCap(t *testing.T) {
	const limit, calls = 2, 7
	var running, peak atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, calls)
	b, log := newRealBroker(t, func(_ context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		started <- struct{}{}
		<-release
		running.Add(-1)
		return &sandbox.Result{Output: []byte(`{"ok":true}`)}, nil
	}, func(c *broker.Config) { c.MaxConcurrentPerTenant = limit })
	s, err := New(Config{Core: b, Auth: fakeAuth{}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- s.ServeStdio(context.Background(), inR, outW, auth.Principal{Tenant: "acme", Subject: "alice", Roles: []string{"admin"}})
		outW.Close()
	}()
	replies := make(chan map[string]any, calls)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				replies <- m
			}
		}
		close(replies)
	}()
	for i := range calls {
		fmt.Fprintf(inW, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`+"\n", i+1)
	}
	<-started
	<-started
	// The calls past the cap are answered while the first two still run.
	refused := 0
	for range calls - limit {
		m := <-replies
		res, _ := m["result"].(map[string]any)
		meta, _ := res["_meta"].(map[string]any)
		if meta["toolwarden.dev/reason"] == "limit.concurrency" {
			refused++
		}
	}
	close(release)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range limit {
			<-replies
		}
	})
	wg.Wait()
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if peak.Load() > limit || refused != calls-limit {
		t.Errorf("peak %d calls in flight, %d refused; want at most %d and %d refused", peak.Load(), refused, limit, calls-limit)
	}
	n := 0
	for _, r := range log.records() {
		if r.Reason == "limit.concurrency" {
			n++
		}
	}
	if n != calls-limit {
		t.Errorf("%d limit.concurrency records, want %d", n, calls-limit)
	}
}
