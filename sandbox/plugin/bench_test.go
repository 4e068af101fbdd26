package plugin

import (
	"context"
	"math"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/plugin/wire"
)

var benchArgs = []byte(`{"text":"hello"}`)

// plainClient starts the echo fixture the way go-plugin does by default:
// no isolation, no pool. It is the baseline of the benchmarks.
func plainClient(b *testing.B) (*goplugin.Client, *wire.Client) {
	b.Helper()
	c := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.ClientSet(),
		Cmd:              exec.Command(fixture(b, "echo")),
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	cp, err := c.Client()
	if err != nil {
		c.Kill()
		b.Fatalf("plain start: %v", err)
	}
	raw, err := cp.Dispense(wire.PluginName)
	if err != nil {
		c.Kill()
		b.Fatalf("plain dispense: %v", err)
	}
	tc := raw.(*wire.Client)
	if _, err := tc.Describe(context.Background()); err != nil {
		c.Kill()
		b.Fatalf("plain describe: %v", err)
	}
	return c, tc
}

func BenchmarkWarmCallPlain(b *testing.B) {
	requireIsolation(b)
	c, tc := plainClient(b)
	defer c.Kill()
	ctx := context.Background()
	for b.Loop() {
		if err := callEcho(ctx, tc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarmCallIsolated is one call through Program.Run with the
// default pool: processes retire after DefaultMaxCallsPerProc calls, so
// the figure includes rotation (each replacement starts in the background
// while its predecessor serves its last calls).
func BenchmarkWarmCallIsolated(b *testing.B) { benchWarmCall(b, Config{}) }

func benchWarmCall(b *testing.B, cfg Config) {
	r := newRunner(b, cfg)
	prog := prepareFixture(b, r, "echo")
	ctx := context.Background()
	inv := sandbox.Invocation{Args: benchArgs, Limits: testLimits, Tenant: "bench"}
	if _, err := prog.Run(ctx, inv); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := prog.Run(ctx, inv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkColdStartPlain(b *testing.B) {
	requireIsolation(b)
	fixture(b, "echo")
	for b.Loop() {
		c, _ := plainClient(b)
		b.StopTimer()
		c.Kill()
		b.StartTimer()
	}
}

func BenchmarkColdStartIsolated(b *testing.B) {
	r := newRunner(b, Config{})
	prog := prepareFixture(b, r, "echo")
	s, _, err := prog.settingsOf(sandbox.Invocation{Limits: testLimits, Tenant: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		pr, err := startProc(ctx, prog, s)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		pr.kill()
		pr.close(0)
		b.StartTimer()
	}
}

// BenchmarkWarmCallPaired alternates one plain go-plugin call and one
// isolated call through Program.Run (default pool, so rotation after
// DefaultMaxCallsPerProc calls included), timing each: the two figures are
// paired samples of the same moments of a noisy machine, so their ratio
// holds better than that of two benchmarks run one after the other. It
// reports plain-ns/call and isolated-ns/call.
func BenchmarkWarmCallPaired(b *testing.B) { benchPaired(b, Config{}, false) }

// BenchmarkWarmCallPairedNoRotation is BenchmarkWarmCallPaired with
// processes that never retire: against it, the cost of rotation.
func BenchmarkWarmCallPairedNoRotation(b *testing.B) {
	benchPaired(b, Config{MaxCallsPerProc: math.MaxInt32}, false)
}

// BenchmarkWarmCallPairedDirect pairs plain calls with calls straight to
// one isolated process's gRPC client, without Program.Run: the cost of the
// confinement alone.
func BenchmarkWarmCallPairedDirect(b *testing.B) { benchPaired(b, Config{}, true) }

func benchPaired(b *testing.B, cfg Config, direct bool) {
	c, tc := plainClient(b)
	defer c.Kill()
	r := newRunner(b, cfg)
	prog := prepareFixture(b, r, "echo")
	ctx := context.Background()
	inv := sandbox.Invocation{Args: benchArgs, Limits: testLimits, Tenant: "bench"}
	isolatedCall := func() error { _, err := prog.Run(ctx, inv); return err }
	if direct {
		s, _, err := prog.settingsOf(inv)
		if err != nil {
			b.Fatal(err)
		}
		pr, err := startProc(ctx, prog, s)
		if err != nil {
			b.Fatal(err)
		}
		defer pr.close(0)
		isolatedCall = func() error { return callEcho(ctx, pr.tool) }
	}
	if err := isolatedCall(); err != nil {
		b.Fatal(err)
	}
	var plain, isolated time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if err := callEcho(ctx, tc); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := isolatedCall(); err != nil {
			b.Fatal(err)
		}
		isolated += time.Since(t1)
		plain += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(n), "plain-ns/call")
	b.ReportMetric(float64(isolated.Nanoseconds())/float64(n), "isolated-ns/call")
}

// callEcho makes one call on a plugin client and parses its reply, as the
// runner does.
func callEcho(ctx context.Context, tc *wire.Client) error {
	out, err := tc.Invoke(ctx, benchArgs, 1<<20)
	if err != nil {
		return err
	}
	_, err = abi.ParseEnvelope(out)
	return err
}
