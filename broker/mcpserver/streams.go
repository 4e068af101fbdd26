package mcpserver

import "sync"

// Per-principal caps on what one principal may hold open over HTTP.
const (
	// MaxRequestsPerPrincipal caps one principal's HTTP requests in
	// flight at once (POSTs being served and open streams alike).
	MaxRequestsPerPrincipal = 64
	// MaxStreamsPerPrincipal caps one principal's open GET streams.
	MaxStreamsPerPrincipal = 8
)

// CodeStreamLimit is the reason code of a request past a principal's caps.
const CodeStreamLimit = "limit.streams"

// streamGate counts each principal's requests in flight and open streams.
type streamGate struct {
	mu       sync.Mutex // guards following
	requests map[owner]int
	streams  map[owner]int
}

func newStreamGate() *streamGate {
	return &streamGate{requests: make(map[owner]int), streams: make(map[owner]int)}
}

// enter admits one request of o (a GET stream when stream is set) and
// returns the function that ends it, or nil if o is at a cap.
func (g *streamGate) enter(o owner, stream bool) func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.requests[o] >= MaxRequestsPerPrincipal || (stream && g.streams[o] >= MaxStreamsPerPrincipal) {
		return nil
	}
	g.requests[o]++
	if stream {
		g.streams[o]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.requests[o]--; g.requests[o] <= 0 {
				delete(g.requests, o)
			}
			if stream {
				if g.streams[o]--; g.streams[o] <= 0 {
					delete(g.streams, o)
				}
			}
		})
	}
}
