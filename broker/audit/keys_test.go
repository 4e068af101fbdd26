package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	signing := filepath.Join(dir, "audit-signing.key")
	pubPath := filepath.Join(dir, "audit-signing.pub")
	hmacPath := filepath.Join(dir, "audit-hmac.key")

	key, err := audit.CreateSigningKey(signing)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.WritePublicKey(pubPath, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	hk, err := audit.CreateHMACKey(hmacPath)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{signing: 0o600, hmacPath: 0o600, pubPath: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}

	got, err := audit.LoadSigningKey(signing)
	if err != nil || !got.Equal(key) {
		t.Fatalf("LoadSigningKey = %v; want the key written", err)
	}
	for _, p := range []string{pubPath, signing} {
		pub, err := audit.LoadPublicKey(p)
		if err != nil || !pub.Equal(key.Public()) {
			t.Errorf("LoadPublicKey(%s) = %v; want the public key", filepath.Base(p), err)
		}
	}
	if got, err := audit.LoadHMACKey(hmacPath); err != nil || !bytes.Equal(got, hk) || len(got) != audit.HMACKeySize {
		t.Errorf("LoadHMACKey = %x, %v; want %x", got, err, hk)
	}

	// Keys are never overwritten.
	for _, create := range []func() error{
		func() error { _, err := audit.CreateSigningKey(signing); return err },
		func() error { _, err := audit.CreateHMACKey(hmacPath); return err },
		func() error { return audit.WritePublicKey(pubPath, key.Public().(ed25519.PublicKey)) },
	} {
		if err := create(); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
			t.Errorf("creating over an existing key = %v, want a refusal", err)
		}
	}
	if got, _ := audit.LoadSigningKey(signing); !got.Equal(key) {
		t.Error("a refused create changed the key file")
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	signing := filepath.Join(dir, "s.key")
	if _, err := audit.CreateSigningKey(signing); err != nil {
		t.Fatal(err)
	}
	hmacPath := filepath.Join(dir, "h.key")
	if _, err := audit.CreateHMACKey(hmacPath); err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(dir, "p.pub")
	if err := audit.WritePublicKey(pubPath, testPub()); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.key")
	audittest.WriteFile(t, loose, audittest.ReadFile(t, signing))
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.key")
	audittest.WriteFile(t, garbage, []byte("not a key\n"))

	tests := []struct {
		name string
		load func() error
		want string
	}{
		{"missing", func() error { _, err := audit.LoadSigningKey(filepath.Join(dir, "nope")); return err }, "no such file"},
		{"group-readable signing key", func() error { _, err := audit.LoadSigningKey(loose); return err }, "chmod 600"},
		{"not PEM", func() error { _, err := audit.LoadHMACKey(garbage); return err }, "no PEM block"},
		{"HMAC key given as signing key", func() error { _, err := audit.LoadSigningKey(hmacPath); return err }, "want \"PRIVATE KEY\""},
		{"signing key given as HMAC key", func() error { _, err := audit.LoadHMACKey(signing); return err }, "want \"TOOLWARDEN AUDIT HMAC KEY\""},
		{"public key given as signing key", func() error { _, err := audit.LoadSigningKey(pubPath); return err }, "chmod 600"},
		{"HMAC key given as public key", func() error { _, err := audit.LoadPublicKey(hmacPath); return err }, "want \"PUBLIC KEY\""},
	}
	if runtime.GOOS == "windows" {
		tests = tests[:1]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.load(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
