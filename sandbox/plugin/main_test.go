package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// fixtureNames are the names the fixture binary is linked under; its
// behaviour follows its argv[0].
var fixtureNames = []string{"echo", "loop", "membomb", "flood", "hostile"}

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

func TestMain(m *testing.M) {
	MaybeLaunch()
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// requireIsolation skips, loudly, where the kernel or the user cannot run
// isolated plugins.
func requireIsolation(t testing.TB) {
	t.Helper()
	sandboxtest.RequireIsolation(t, Available(false), "isolated plugins (namespaces, mounts, uid changes, landlock, seccomp, rlimits)")
}

// fixture returns the path of the fixture binary linked as name, building
// it (without -race: the race detector's shadow memory cannot live under a
// memory rlimit) once per test process.
func fixture(t testing.TB, name string) string {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "twp-fixture-")
		if fixtureErr != nil {
			return
		}
		bin := filepath.Join(fixtureDir, "fixture")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/fixture")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fixtureErr = &buildError{err: err, out: string(out)}
			return
		}
		for _, n := range fixtureNames {
			if fixtureErr = os.Symlink(bin, filepath.Join(fixtureDir, n)); fixtureErr != nil {
				return
			}
		}
	})
	if fixtureErr != nil {
		t.Fatalf("build fixture: %v", fixtureErr)
	}
	return filepath.Join(fixtureDir, name)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// pin returns the spec of a fixture, pinned to its current digest.
func pin(t testing.TB, name string) sandbox.Spec {
	t.Helper()
	path := fixture(t, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return sandbox.Spec{Tool: name, Path: path, SHA256: hex.EncodeToString(sum[:])}
}

// newRunner returns a runner closed when the test ends.
func newRunner(t testing.TB, cfg Config) *Runner {
	t.Helper()
	requireIsolation(t)
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("Runner.Close() error = %v", err)
		}
	})
	return r
}

// prepareFixture prepares a fixture on r.
func prepareFixture(t testing.TB, r *Runner, name string) *Program {
	t.Helper()
	prog, err := r.Prepare(context.Background(), pin(t, name))
	if err != nil {
		t.Fatalf("Prepare(%s) error = %v", name, err)
	}
	return prog.(*Program)
}

var testLimits = sandbox.Limits{
	Timeout:        time.Minute,
	MemoryBytes:    256 << 20,
	OutputBytes:    1 << 20,
	MaxStderrBytes: 64 << 10,
}
