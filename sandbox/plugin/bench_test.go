package plugin

import (
	"context"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/toolwarden/toolwarden/sandbox"
)

var benchArgs = []byte(`{"text":"hello"}`)

// plainClient starts the echo fixture the way go-plugin does by default:
// no isolation, no pool. It is the baseline of the benchmarks.
func plainClient(b *testing.B) (*goplugin.Client, *toolClient) {
	b.Helper()
	c := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: pluginSet(),
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
	raw, err := cp.Dispense(pluginName)
	if err != nil {
		c.Kill()
		b.Fatalf("plain dispense: %v", err)
	}
	tc := raw.(*toolClient)
	if _, err := tc.describe(context.Background()); err != nil {
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
		out, err := tc.invoke(ctx, benchArgs, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sandbox.ParseEnvelope(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWarmCallIsolated(b *testing.B) {
	r := newRunner(b, Config{MinProcs: 1, MaxProcs: 1})
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
