package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// API key layout: "tw_" + id + "_" + secret. Both parts use lowercase
// unpadded base32 (a-z, 2-7), so neither contains '_' and the key survives
// double-click selection, shells and URLs unchanged.
const (
	keyPrefix    = "tw_"
	keyIDBytes   = 10 // 16 base32 characters: public, only names the key
	keySecretLen = 32 // bytes of randomness in the secret (52 characters)
	hashPrefix   = "sha256:"
	keysVersion  = 1
	// maxKeysFileBytes bounds what LoadKeys reads (about 40000 keys).
	maxKeysFileBytes = 16 << 20
)

var (
	keyEncoding     = base32.StdEncoding.WithPadding(base32.NoPadding)
	keyIDChars      = keyEncoding.EncodedLen(keyIDBytes)
	keySecretChars  = keyEncoding.EncodedLen(keySecretLen)
	maxAPIKeyLength = len(keyPrefix) + keyIDChars + 1 + keySecretChars
)

// ErrKeyNotFound is returned by [RevokeKey] for an id the keys file does not
// hold.
var ErrKeyNotFound = errors.New("no API key with that id")

// NewKey describes an API key for [AddKey] to create.
type NewKey struct {
	// Tenant the key authenticates as. Required: a simple identifier
	// (letters, digits, '.', '_', ':', '@', '-'; at most 128 characters,
	// starting with a letter or digit).
	Tenant string
	// Subject the key authenticates as. Required: a simple identifier.
	Subject string
	// Roles granted to the key. Required: at least one simple identifier,
	// no repeats.
	Roles []string
	// TTL is how long the key stays valid. Zero means no expiry; negative
	// is an error.
	TTL time.Duration
}

// keysFile is the on-disk form of a keys file.
type keysFile struct {
	Version int        `json:"version"`
	Keys    []keyEntry `json:"keys"`
}

// keyEntry is one stored API key: its hash and what it authenticates as.
type keyEntry struct {
	ID      string     `json:"id"`
	Hash    string     `json:"hash"` // "sha256:" + hex(SHA-256(secret text))
	Tenant  string     `json:"tenant"`
	Subject string     `json:"subject"`
	Roles   []string   `json:"roles"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`
}

// KeyStore is a loaded keys file: the hashes of the API keys it holds and
// the principal each one authenticates as.
//
// # Notes
//
// A KeyStore is immutable after [LoadKeys] and safe for concurrent use. It
// does not see later changes to the file; [Authenticator] reloads it.
type KeyStore struct {
	byID map[string]storedKey
}

// storedKey is a keyEntry with its hash decoded.
type storedKey struct {
	hash    [sha256.Size]byte
	tenant  string
	subject string
	roles   []string
	expires time.Time // zero: never
}

// Len returns how many keys the store holds.
func (s *KeyStore) Len() int { return len(s.byID) }

// Authenticate checks an API key ("tw_<id>_<secret>") against the store at
// time now. The id selects the entry; the SHA-256 of the secret is compared
// with the stored hash in constant time. It returns a [Principal] with
// Method "apikey" and KeyID set to the key's id, or an [*Error] with code
// [CodeInvalid] (malformed, unknown or wrong secret) or [CodeExpired].
func (s *KeyStore) Authenticate(secret string, now time.Time) (Principal, error) {
	id, sec, err := splitAPIKey(secret)
	if err != nil {
		return Principal{}, fail(CodeInvalid, err)
	}
	k, ok := s.byID[id]
	if !ok {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("api key %s: unknown id", id))
	}
	sum := sha256.Sum256([]byte(sec))
	if subtle.ConstantTimeCompare(sum[:], k.hash[:]) != 1 {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("api key %s: secret does not match", id))
	}
	if !k.expires.IsZero() && !now.Before(k.expires) {
		return Principal{}, fail(CodeExpired, fmt.Errorf("api key %s: expired at %s", id, k.expires.Format(time.RFC3339)))
	}
	return Principal{
		Tenant:  k.tenant,
		Subject: k.subject,
		Roles:   slices.Clone(k.roles),
		Method:  MethodAPIKey,
		KeyID:   id,
		Expires: k.expires,
	}, nil
}

// splitAPIKey checks the layout of an API key and returns its id and secret.
func splitAPIKey(key string) (id, secret string, err error) {
	if len(key) != maxAPIKeyLength || !strings.HasPrefix(key, keyPrefix) {
		return "", "", errors.New("api key: malformed (wrong length or prefix)")
	}
	id, secret, ok := strings.Cut(key[len(keyPrefix):], "_")
	if !ok || len(id) != keyIDChars || len(secret) != keySecretChars || !isKeyText(id) || !isKeyText(secret) {
		return "", "", errors.New("api key: malformed")
	}
	return id, secret, nil
}

// isKeyText reports whether s uses only the lowercase base32 alphabet.
func isKeyText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// randomKeyText returns n random bytes in lowercase unpadded base32.
func randomKeyText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return strings.ToLower(keyEncoding.EncodeToString(b))
}

// hashSecret returns the stored form of a secret's hash.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// AddKey creates a random API key for k, appends its hash to the keys file
// at path (creating the file, mode 0600, and its directory, mode 0700, if
// missing) and returns the key in plain text. The plain text is not stored
// anywhere: show it to the operator once.
//
// # Notes
//
// The file is rewritten atomically (temporary file, fsync, rename), under an
// exclusive lock on path+".lock" where the platform has flock, so
// concurrent AddKey and [RevokeKey] calls do not lose each other's changes.
func AddKey(path string, k NewKey) (plaintext string, err error) {
	if err := validateNewKey(k); err != nil {
		return "", fmt.Errorf("add key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("add key: %w", err)
	}
	err = updateKeysFile(path, func(f *keysFile) error {
		id := randomKeyText(keyIDBytes)
		for slices.ContainsFunc(f.Keys, func(e keyEntry) bool { return e.ID == id }) {
			id = randomKeyText(keyIDBytes)
		}
		secret := randomKeyText(keySecretLen)
		created := time.Now().UTC().Truncate(time.Second)
		e := keyEntry{
			ID:      id,
			Hash:    hashSecret(secret),
			Tenant:  k.Tenant,
			Subject: k.Subject,
			Roles:   slices.Clone(k.Roles),
			Created: created,
		}
		if k.TTL > 0 {
			exp := created.Add(k.TTL)
			e.Expires = &exp
		}
		f.Keys = append(f.Keys, e)
		plaintext = keyPrefix + id + "_" + secret
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("add key to %s: %w", path, err)
	}
	return plaintext, nil
}

// RevokeKey removes the key with the given id (the part after "tw_") from
// the keys file at path. It returns an error wrapping [ErrKeyNotFound] if no
// key has that id. A running [Authenticator] stops accepting the key within
// about a second.
func RevokeKey(path, id string) error {
	err := updateKeysFile(path, func(f *keysFile) error {
		i := slices.IndexFunc(f.Keys, func(e keyEntry) bool { return e.ID == id })
		if i < 0 {
			return fmt.Errorf("%w: %q", ErrKeyNotFound, id)
		}
		f.Keys = slices.Delete(f.Keys, i, i+1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke key in %s: %w", path, err)
	}
	return nil
}

// validateNewKey checks what AddKey is asked to store.
func validateNewKey(k NewKey) error {
	if !isIdentifier(k.Tenant) {
		return fmt.Errorf("tenant %q is not a simple identifier", k.Tenant)
	}
	if !isIdentifier(k.Subject) {
		return fmt.Errorf("subject %q is not a simple identifier", k.Subject)
	}
	if err := validateRoles(k.Roles); err != nil {
		return err
	}
	if k.TTL < 0 {
		return fmt.Errorf("TTL %s is negative", k.TTL)
	}
	return nil
}

// validateRoles checks a role list: non-empty, simple identifiers, no
// repeats, at most maxRoles.
func validateRoles(roles []string) error {
	if len(roles) == 0 {
		return errors.New("no roles")
	}
	if len(roles) > maxRoles {
		return fmt.Errorf("%d roles, at most %d allowed", len(roles), maxRoles)
	}
	for i, r := range roles {
		if !isIdentifier(r) {
			return fmt.Errorf("role %q is not a simple identifier", r)
		}
		if slices.Contains(roles[:i], r) {
			return fmt.Errorf("role %q listed twice", r)
		}
	}
	return nil
}

// maxRoles bounds the roles of one principal.
const maxRoles = 64

// isIdentifier reports whether s is a simple identifier: 1 to 128 ASCII
// letters, digits, '.', '_', ':', '@' or '-', starting with a letter or
// digit.
func isIdentifier(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '@' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// LoadKeys reads and checks the keys file at path.
//
// It refuses a file that is not a regular file, is readable or writable by
// group or others (on Unix-like systems: chmod 600 fixes it), is larger
// than 16 MiB, carries unknown, repeated or case-variant fields, or holds
// an entry that [AddKey] could not have written (bad id, hash, tenant,
// subject or roles, repeated id).
func LoadKeys(path string) (*KeyStore, error) {
	f, err := readKeysFile(path)
	if err != nil {
		return nil, err
	}
	s := &KeyStore{byID: make(map[string]storedKey, len(f.Keys))}
	for _, e := range f.Keys {
		h, _ := hex.DecodeString(strings.TrimPrefix(e.Hash, hashPrefix)) // checked by readKeysFile
		var k storedKey
		copy(k.hash[:], h)
		k.tenant, k.subject, k.roles = e.Tenant, e.Subject, slices.Clone(e.Roles)
		if e.Expires != nil {
			k.expires = *e.Expires
		}
		s.byID[e.ID] = k
	}
	return s, nil
}

// readKeysFile opens, checks and decodes the keys file at path.
func readKeysFile(path string) (*keysFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if err := checkKeysFileInfo(path, fi); err != nil {
		return nil, err
	}
	data, err := readCapped(fh, maxKeysFileBytes)
	if err != nil {
		return nil, fmt.Errorf("load keys %s: %w", path, err)
	}
	var f keysFile
	if err := strictjson.Unmarshal(data, &f, strictjson.Limits{MaxBytes: maxKeysFileBytes}); err != nil {
		return nil, fmt.Errorf("load keys %s: %w", path, err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("load keys %s: %w", path, err)
	}
	return &f, nil
}

// checkKeysFileInfo refuses a keys file that is not a regular file or that
// group or others may read or write.
func checkKeysFileInfo(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("load keys %s: not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("load keys %s: mode %04o lets group or others read or write it; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

// check verifies every entry of a decoded keys file.
func (f *keysFile) check() error {
	if f.Version != keysVersion {
		return fmt.Errorf("version %d, want %d", f.Version, keysVersion)
	}
	seen := make(map[string]bool, len(f.Keys))
	for i, e := range f.Keys {
		if len(e.ID) != keyIDChars || !isKeyText(e.ID) {
			return fmt.Errorf("key %d: malformed id %q", i, e.ID)
		}
		if seen[e.ID] {
			return fmt.Errorf("key %s: id listed twice", e.ID)
		}
		seen[e.ID] = true
		h, ok := strings.CutPrefix(e.Hash, hashPrefix)
		if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size || h != strings.ToLower(h) {
			return fmt.Errorf("key %s: hash is not %s followed by 64 lowercase hex digits", e.ID, hashPrefix)
		}
		if !isIdentifier(e.Tenant) {
			return fmt.Errorf("key %s: tenant %q is not a simple identifier", e.ID, e.Tenant)
		}
		if !isIdentifier(e.Subject) {
			return fmt.Errorf("key %s: subject %q is not a simple identifier", e.ID, e.Subject)
		}
		if err := validateRoles(e.Roles); err != nil {
			return fmt.Errorf("key %s: %w", e.ID, err)
		}
		if e.Created.IsZero() {
			return fmt.Errorf("key %s: no creation time", e.ID)
		}
		if e.Expires != nil && !e.Expires.After(e.Created) {
			return fmt.Errorf("key %s: expires before it was created", e.ID)
		}
	}
	return nil
}

// updateKeysFile applies change to the keys file at path under the keys
// lock and writes the result back atomically. A missing file starts empty.
func updateKeysFile(path string, change func(*keysFile) error) error {
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	f, err := readKeysFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f = &keysFile{Version: keysVersion}
	case err != nil:
		return err
	}
	if err := change(f); err != nil {
		return err
	}
	if f.Keys == nil {
		f.Keys = []keyEntry{}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see either the old or the new content.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // best effort: not every platform can sync a directory
		d.Close()
	}
	return nil
}
