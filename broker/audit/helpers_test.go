package audit_test

import (
	"crypto/ed25519"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

// checkNoWriter fails if any goroutine of a Log is still running.
func checkNoWriter(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "audit.(*Log).run") {
			t.Errorf("writer goroutine still running after Close:\n%s", g)
		}
	}
}

// verifyBytes verifies data as a whole log, through the one entry point.
func verifyBytes(t *testing.T, data []byte) (*audit.Report, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	audittest.WriteFile(t, path, data)
	return audit.Verify(path, audit.VerifyConfig{})
}

// verifyAnchoredBytes verifies log held to the checkpoints cps, signed
// with the key of pub.
func verifyAnchoredBytes(t *testing.T, log, cps []byte, pub ed25519.PublicKey) (*audit.Report, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	audittest.WriteFile(t, path, log)
	audittest.WriteFile(t, audit.CheckpointsPath(path), cps)
	return audit.Verify(path, audit.VerifyConfig{PublicKey: pub})
}
