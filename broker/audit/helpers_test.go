package audit_test

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

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
