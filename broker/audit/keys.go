package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// PEM block types of the key files.
const (
	pemPrivateKey = "PRIVATE KEY" // PKCS #8
	pemPublicKey  = "PUBLIC KEY"  // PKIX
	pemHMACKey    = "TOOLWARDEN AUDIT HMAC KEY"
)

// maxKeyFileBytes bounds what the key loaders read.
const maxKeyFileBytes = 64 << 10

// CreateSigningKey generates an ed25519 checkpoint signing key and writes
// it to path as a PEM "PRIVATE KEY" block (PKCS #8), mode 0600. It refuses
// to overwrite an existing file.
func CreateSigningKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate audit signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode audit signing key: %w", err)
	}
	if err := writeKeyFile(path, pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// WritePublicKey writes pub to path as a PEM "PUBLIC KEY" block (PKIX),
// mode 0644, for verifiers that must not hold the signing key. It refuses
// to overwrite an existing file.
func WritePublicKey(path string, pub ed25519.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encode audit public key: %w", err)
	}
	return writeKeyFile(path, pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), 0o644)
}

// HMACKeySize is the size in bytes of the log key of redaction markers
// (see package redact).
const HMACKeySize = 32

// CreateHMACKey generates a random [HMACKeySize]-byte log key for a
// [Redactor] and writes it to path as a PEM block, mode 0600. It refuses
// to overwrite an existing file.
func CreateHMACKey(path string) ([]byte, error) {
	key := make([]byte, HMACKeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it crashes the program instead)
	if err := writeKeyFile(path, pem.EncodeToMemory(&pem.Block{Type: pemHMACKey, Bytes: key}), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// LoadSigningKey reads an ed25519 private key written by
// [CreateSigningKey]. On Unix it refuses a file that its group or others
// may read or write.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	block, err := readKeyFile(path, true)
	if err != nil {
		return nil, err
	}
	return privateKey(path, block)
}

// LoadPublicKey reads an ed25519 public key written by [WritePublicKey],
// or derives it from a private key file written by [CreateSigningKey].
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	block, err := readKeyFile(path, false)
	if err != nil {
		return nil, err
	}
	if block.Type == pemPrivateKey {
		key, err := privateKey(path, block)
		if err != nil {
			return nil, err
		}
		return key.Public().(ed25519.PublicKey), nil
	}
	if block.Type != pemPublicKey {
		return nil, fmt.Errorf("audit public key %s: PEM block is %q, want %q", path, block.Type, pemPublicKey)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit public key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit public key %s: a %T, want an ed25519 key", path, k)
	}
	return pub, nil
}

// LoadHMACKey reads a log key written by [CreateHMACKey]. On Unix it
// refuses a file that its group or others may read or write.
func LoadHMACKey(path string) ([]byte, error) {
	block, err := readKeyFile(path, true)
	if err != nil {
		return nil, err
	}
	if block.Type != pemHMACKey {
		return nil, fmt.Errorf("audit HMAC key %s: PEM block is %q, want %q", path, block.Type, pemHMACKey)
	}
	if len(block.Bytes) < HMACKeySize {
		return nil, fmt.Errorf("audit HMAC key %s: %d bytes, want at least %d", path, len(block.Bytes), HMACKeySize)
	}
	return block.Bytes, nil
}

func privateKey(path string, block *pem.Block) (ed25519.PrivateKey, error) {
	if block.Type != pemPrivateKey {
		return nil, fmt.Errorf("audit signing key %s: PEM block is %q, want %q", path, block.Type, pemPrivateKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit signing key %s: a %T, want an ed25519 key", path, k)
	}
	return key, nil
}

// readKeyFile reads the one PEM block of a key file. private makes it
// refuse a file its group or others can access.
func readKeyFile(path string, private bool) (*pem.Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read audit key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read audit key: %w", err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("audit key %s: not a regular file", path)
	case fi.Size() > maxKeyFileBytes:
		return nil, fmt.Errorf("audit key %s: %d bytes, more than a key file holds", path, fi.Size())
	case private && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("audit key %s: mode %v lets others read it; chmod 600 it", path, fi.Mode().Perm())
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read audit key %s: %w", path, err)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("audit key %s: no PEM block", path)
	}
	if extra, _ := pem.Decode(rest); extra != nil {
		return nil, fmt.Errorf("audit key %s: more than one PEM block", path)
	}
	return block, nil
}

// writeKeyFile creates path exclusively with mode perm, writes data and
// syncs it. A partly written file is removed.
func writeKeyFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("write audit key: %s already exists; refusing to overwrite a key", path)
	}
	if err != nil {
		return fmt.Errorf("write audit key: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write audit key %s: %w", path, err)
	}
	return nil
}
