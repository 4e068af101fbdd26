package wasm

import (
	"testing"
)

// BenchmarkFreshInstanceEcho measures one call of tools/echo: a fresh
// instance of a standard Go module (runtime start-up, data segments) plus
// the envelope round trip.
func BenchmarkFreshInstanceEcho(b *testing.B) {
	p := goProgram(b, "echo")
	lim := limits()
	for b.Loop() {
		res, err := call(p, `{"text":"hello, world"}`, lim)
		if err != nil || len(res.Output) == 0 {
			b.Fatalf("Run(echo) = %v, %v", res, err)
		}
	}
}

// BenchmarkFreshInstanceNop is the baseline: the same call path through a
// hand-assembled module with no language runtime that reads stdin and
// writes a fixed envelope.
func BenchmarkFreshInstanceNop(b *testing.B) {
	p := moduleProgram(b, sharedRunner(b), nopModule)
	lim := limits()
	for b.Loop() {
		res, err := call(p, `{"text":"hello, world"}`, lim)
		if err != nil || len(res.Output) == 0 {
			b.Fatalf("Run(nop) = %v, %v", res, err)
		}
	}
}
