package mcpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
)

// benchCore lists one tool and answers every call at once with its
// arguments.
type benchCore struct{}

func (benchCore) ListTools(context.Context, auth.Principal) []broker.ToolInfo {
	return []broker.ToolInfo{fakeTools["echo"]}
}

func (benchCore) CallTool(_ context.Context, c broker.Call) (*broker.Outcome, error) {
	return &broker.Outcome{Result: c.Args, Seq: 1}, nil
}

func (benchCore) Refuse(context.Context, broker.Refusal) error { return nil }

func BenchmarkHTTPEcho1(b *testing.B)  { benchHTTPEcho(b, 1) }
func BenchmarkHTTPEcho16(b *testing.B) { benchHTTPEcho(b, 16) }

func BenchmarkBareMCPGo1(b *testing.B)  { benchBareMCPGo(b, 1) }
func BenchmarkBareMCPGo16(b *testing.B) { benchBareMCPGo(b, 16) }

// benchHTTPEcho measures tools/call through the full Handler: Origin and
// Host checks, authentication, body cap, strict frame check, broker call and
// result mapping, with a broker that answers at once.
func benchHTTPEcho(b *testing.B, workers int) {
	s, err := New(Config{Core: benchCore{}, Auth: fakeAuth{}, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.Close()
	runCalls(b, ts.URL, workers, map[string]any{"message": "hi"})
}

// benchBareMCPGo measures the same call on a bare mcp-go Streamable HTTP
// server with a no-op tool: the cost this package adds is the difference.
func benchBareMCPGo(b *testing.B, workers int) {
	bare := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false))
	bare.AddTool(mcp.NewToolWithRawSchema("echo", "", json.RawMessage(schemaWithDefs)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(`{"message":"hi"}`)}}, nil
		})
	ts := httptest.NewServer(server.NewStreamableHTTPServer(bare))
	defer ts.Close()
	runCalls(b, ts.URL, workers, map[string]any{"message": "hi"})
}

// runCalls makes b.N tools/call echo calls from workers stateless clients
// at once and reports calls/s and the p50 and p99 latency of one call.
func runCalls(b *testing.B, url string, workers int, args map[string]any) {
	ctx := context.Background()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * workers, MaxIdleConnsPerHost: 2 * workers}}
	defer hc.CloseIdleConnections()
	clients := make([]*client.Client, workers)
	for i := range clients {
		trans, err := transport.NewStreamableHTTP(url+EndpointPath, transport.WithHTTPBasicClient(hc),
			transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tokenAlice}))
		if err != nil {
			b.Fatal(err)
		}
		c := client.NewClient(trans)
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		init := mcp.InitializeRequest{}
		init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	var req mcp.CallToolRequest
	req.Params.Name = "echo"
	req.Params.Arguments = args

	jobs := make(chan struct{})
	latencies := make([][]time.Duration, workers)
	var failed atomic.Pointer[string]
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for range jobs {
				start := time.Now()
				res, err := c.CallTool(ctx, req)
				latencies[i] = append(latencies[i], time.Since(start))
				if err != nil {
					msg := err.Error()
					failed.CompareAndSwap(nil, &msg)
				} else if res.IsError {
					msg := "isError result"
					failed.CompareAndSwap(nil, &msg)
				}
			}
		})
	}
	start := time.Now()
	for b.Loop() {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if msg := failed.Load(); msg != nil {
		b.Fatalf("call failed: %s", *msg)
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}
