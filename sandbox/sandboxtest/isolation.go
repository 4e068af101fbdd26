package sandboxtest

import (
	"os"
	"syscall"
	"testing"
)

// RequireIsolationEnv, set to 1, makes a missing isolation feature fail
// the tests that need it instead of skipping them. .ci/run sets it: CI runs
// as root on kernels with namespaces, landlock and seccomp, so a missing
// feature there is a broken machine, not a reason to test less.
const RequireIsolationEnv = "TOOLWARDEN_REQUIRE_ISOLATION"

// RequireIsolation is the one way a test skips for want of process
// isolation. unavailable is why isolation cannot run here (nil when it
// can; plugin.Available gives it) and untested says what goes untested.
// Running as root, or with RequireIsolationEnv=1, a missing feature fails
// the test; otherwise it skips, loudly, naming the kernel.
func RequireIsolation(t testing.TB, unavailable error, untested string) {
	t.Helper()
	if unavailable == nil {
		return
	}
	var u syscall.Utsname
	kernel := "unknown"
	if syscall.Uname(&u) == nil {
		b := make([]byte, 0, len(u.Release))
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		kernel = string(b)
	}
	if os.Geteuid() == 0 || os.Getenv(RequireIsolationEnv) == "1" {
		t.Fatalf("isolation is required here (root, or %s=1) but unavailable on kernel %s: %v; %s would go untested",
			RequireIsolationEnv, kernel, unavailable, untested)
	}
	t.Skipf("SKIPPED: %v (kernel %s): %s untested", unavailable, kernel, untested)
}
