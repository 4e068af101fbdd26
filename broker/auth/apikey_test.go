package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/auth"
)

var keyFormat = regexp.MustCompile(`^tw_[a-z2-7]{16}_[a-z2-7]{52}$`)

func newKeysAuth(t *testing.T, path string, c *clock) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{Logger: quiet, KeysFile: path, Now: c.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestAddKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf", "keys.json")
	key, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "ci-bot", Roles: []string{"analyst"}})
	if err != nil {
		t.Fatalf("AddKey: %v", err)
	}
	if !keyFormat.MatchString(key) {
		t.Errorf("AddKey = %q, want tw_<16 base32>_<52 base32>", key)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("keys file mode = %04o, want 0600", perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secret := key[strings.LastIndex(key, "_")+1:]
	if strings.Contains(string(data), secret) {
		t.Errorf("keys file holds the secret in plain text:\n%s", data)
	}
	id := strings.Split(key, "_")[1]
	for _, want := range []string{`"id": "` + id + `"`, `"hash": "sha256:`, `"tenant": "acme"`, `"subject": "ci-bot"`, `"created": `} {
		if !strings.Contains(string(data), want) {
			t.Errorf("keys file lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), `"expires"`) {
		t.Errorf("key without TTL has an expiry:\n%s", data)
	}
	s, err := auth.LoadKeys(path)
	if err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	if s.Len() != 1 {
		t.Errorf("LoadKeys holds %d keys, want 1", s.Len())
	}
}

func TestAPIKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	good, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "ci-bot", Roles: []string{"analyst", "reader"}})
	if err != nil {
		t.Fatal(err)
	}
	short, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "temp", Roles: []string{"reader"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "gone", Roles: []string{"reader"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClock(time.Now())
	a := newKeysAuth(t, path, c)
	if _, err := a.Authenticate(context.Background(), revoked); err != nil {
		t.Fatalf("key accepted before revocation: %v", err)
	}
	if err := auth.RevokeKey(path, strings.Split(revoked, "_")[1]); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	c.Advance(2 * time.Second) // past the reload check interval

	goodID := strings.Split(good, "_")[1]
	// flip changes the i-th character from the end of s to another
	// character of the base32 alphabet.
	flip := func(s string, i int) string {
		b := []byte(s)
		j := len(b) - 1 - i
		if b[j] == 'a' {
			b[j] = 'b'
		} else {
			b[j] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name    string
		key     string
		advance time.Duration
		code    string
	}{
		{name: "valid", key: good},
		{name: "valid with expiry", key: short},
		{name: "expired", key: short, advance: 2 * time.Hour, code: auth.CodeExpired},
		{name: "revoked", key: revoked, code: auth.CodeInvalid},
		{name: "unknown id", key: "tw_aaaaaaaaaaaaaaaa_" + good[len(good)-52:], code: auth.CodeInvalid},
		{name: "tampered secret last char", key: flip(good, 0), code: auth.CodeInvalid},
		{name: "tampered secret first char", key: flip(good, 51), code: auth.CodeInvalid},
		{name: "secret of another key", key: "tw_" + goodID + "_" + short[len(short)-52:], code: auth.CodeInvalid},
		{name: "uppercase", key: strings.ToUpper(good), code: auth.CodeInvalid},
		{name: "upper-case secret", key: "tw_" + goodID + "_" + strings.ToUpper(good[len(good)-52:]), code: auth.CodeInvalid},
		{name: "truncated", key: good[:len(good)-1], code: auth.CodeInvalid},
		{name: "extra char", key: good + "a", code: auth.CodeInvalid},
		{name: "trailing newline", key: good + "\n", code: auth.CodeInvalid},
		{name: "prefix only", key: "tw_", code: auth.CodeInvalid},
		{name: "no secret", key: "tw_" + goodID, code: auth.CodeInvalid},
		{name: "empty", key: "", code: auth.CodeMissing},
		{name: "blank", key: "  ", code: auth.CodeMissing},
		{name: "not a credential", key: "hunter2", code: auth.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock(time.Now().Add(tc.advance))
			a := newKeysAuth(t, path, c)
			p, err := a.Authenticate(context.Background(), tc.key)
			if got := code(err); got != tc.code {
				t.Fatalf("Authenticate code = %q (%v), want %q", got, err, tc.code)
			}
			if err != nil {
				t.Logf("cause: %v", errors.Unwrap(err))
				checkPublic(t, err)
				return
			}
			if p.Tenant != "acme" || p.Method != "apikey" || p.KeyID != strings.Split(tc.key, "_")[1] || p.Audience != "" {
				t.Errorf("principal = %+v, want tenant acme, method apikey, key id from the key", p)
			}
		})
	}

	t.Run("principal", func(t *testing.T) {
		p, err := a.Authenticate(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		want := auth.Principal{Tenant: "acme", Subject: "ci-bot", Roles: []string{"analyst", "reader"}, Method: "apikey", KeyID: goodID}
		if !principalEqual(p, want) {
			t.Errorf("Authenticate = %+v, want %+v", p, want)
		}
		p.Roles[0] = "admin" // the caller's copy: must not reach the store
		p2, _ := a.Authenticate(context.Background(), good)
		if p2.Roles[0] != "analyst" {
			t.Errorf("roles changed through a returned principal: %v", p2.Roles)
		}
		ps, err := a.Authenticate(context.Background(), short)
		if err != nil {
			t.Fatal(err)
		}
		if ps.Expires.IsZero() || ps.Expires.Sub(time.Now()) > time.Hour || ps.Expires.Sub(time.Now()) < 58*time.Minute {
			t.Errorf("Expires = %v, want about an hour from now", ps.Expires)
		}
	})
}

func principalEqual(a, b auth.Principal) bool {
	return a.Tenant == b.Tenant && a.Subject == b.Subject && slices.Equal(a.Roles, b.Roles) &&
		a.Method == b.Method && a.KeyID == b.KeyID && a.Audience == b.Audience && a.Expires.Equal(b.Expires)
}

func TestKeyStoreAuthenticateExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	key, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "s", Roles: []string{"r"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(key, time.Now())
	if err != nil {
		t.Fatalf("Authenticate now: %v", err)
	}
	if _, err := s.Authenticate(key, p.Expires.Add(-time.Second)); err != nil {
		t.Errorf("Authenticate a second before expiry: %v", err)
	}
	if _, err := s.Authenticate(key, p.Expires); code(err) != auth.CodeExpired {
		t.Errorf("Authenticate at expiry: code %q, want %q", code(err), auth.CodeExpired)
	}
}

func TestAddKeyValidation(t *testing.T) {
	tests := []struct {
		name string
		k    auth.NewKey
		want string
	}{
		{name: "empty tenant", k: auth.NewKey{Subject: "s", Roles: []string{"r"}}, want: "tenant"},
		{name: "tenant with space", k: auth.NewKey{Tenant: "ac me", Subject: "s", Roles: []string{"r"}}, want: "tenant"},
		{name: "tenant with slash", k: auth.NewKey{Tenant: "../x", Subject: "s", Roles: []string{"r"}}, want: "tenant"},
		{name: "empty subject", k: auth.NewKey{Tenant: "t", Roles: []string{"r"}}, want: "subject"},
		{name: "subject too long", k: auth.NewKey{Tenant: "t", Subject: strings.Repeat("s", 129), Roles: []string{"r"}}, want: "subject"},
		{name: "no roles", k: auth.NewKey{Tenant: "t", Subject: "s"}, want: "no roles"},
		{name: "empty role", k: auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{""}}, want: "role"},
		{name: "role with comma", k: auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{"a,b"}}, want: "role"},
		{name: "repeated role", k: auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{"a", "a"}}, want: "twice"},
		{name: "negative TTL", k: auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{"r"}, TTL: -time.Second}, want: "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.json")
			key, err := auth.AddKey(path, tc.k)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("AddKey(%+v) = %q, %v; want error mentioning %q", tc.k, key, err, tc.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("refused AddKey created the keys file (stat: %v)", err)
			}
		})
	}
}

func TestLoadKeysStrict(t *testing.T) {
	const entry = `{"id":"aaaaaaaaaaaaaaaa","hash":"sha256:` + "0000000000000000000000000000000000000000000000000000000000000000" +
		`","tenant":"acme","subject":"s","roles":["r"],"created":"2026-01-01T00:00:00Z"}`
	tests := []struct {
		name string
		data string
		perm os.FileMode
		want string // substring of the error; "" means accepted
	}{
		{name: "valid", data: `{"version":1,"keys":[` + entry + `]}`},
		{name: "empty", data: `{"version":1,"keys":[]}`},
		{name: "group readable", data: `{"version":1,"keys":[]}`, perm: 0o640, want: "chmod 600"},
		{name: "world readable", data: `{"version":1,"keys":[]}`, perm: 0o604, want: "chmod 600"},
		{name: "unknown field", data: `{"version":1,"keys":[],"admin":true}`, want: "admin"},
		{name: "unknown entry field", data: `{"version":1,"keys":[` + strings.Replace(entry, `"tenant"`, `"revoked":false,"tenant"`, 1) + `]}`, want: "revoked"},
		{name: "case-variant field", data: `{"version":1,"keys":[` + strings.Replace(entry, `"tenant"`, `"Tenant"`, 1) + `]}`, want: "Tenant"},
		{name: "folded field", data: `{"version":1,"keys":[` + strings.Replace(entry, `"subject"`, `"ſubject"`, 1) + `]}`, want: "only in case"},
		{name: "repeated field", data: `{"version":1,"keys":[` + strings.Replace(entry, `"tenant":"acme"`, `"tenant":"acme","tenant":"other"`, 1) + `]}`, want: "duplicate"},
		{name: "repeated id", data: `{"version":1,"keys":[` + entry + `,` + entry + `]}`, want: "twice"},
		{name: "wrong version", data: `{"version":2,"keys":[]}`, want: "version"},
		{name: "bad hash", data: `{"version":1,"keys":[` + strings.Replace(entry, `sha256:0`, `md5:0`, 1) + `]}`, want: "hash"},
		{name: "bad id", data: `{"version":1,"keys":[` + strings.Replace(entry, `aaaaaaaaaaaaaaaa`, `AAAA_AAAAAAAAAAA`, 1) + `]}`, want: "id"},
		{name: "no roles", data: `{"version":1,"keys":[` + strings.Replace(entry, `["r"]`, `[]`, 1) + `]}`, want: "roles"},
		{name: "trailing data", data: `{"version":1,"keys":[]} {}`, want: "trailing"},
		{name: "not json", data: `version=1`, want: "unexpected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			perm := tc.perm
			if perm == 0 {
				perm = 0o600
			}
			path := writeFile(t, t.TempDir(), "keys.json", []byte(tc.data), perm)
			_, err := auth.LoadKeys(path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("LoadKeys: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("LoadKeys error = %v, want one mentioning %q", err, tc.want)
			}
			if tc.want != "" {
				if _, err := auth.New(auth.Config{Logger: quiet, KeysFile: path}); err == nil {
					t.Errorf("New accepted a keys file LoadKeys refuses")
				}
			}
		})
	}
}

func TestRevokeKeyUnknown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, err := auth.AddKey(path, auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	if err := auth.RevokeKey(path, "aaaaaaaaaaaaaaaa"); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("RevokeKey(unknown) = %v, want ErrKeyNotFound", err)
	}
	if err := auth.RevokeKey(filepath.Join(t.TempDir(), "none.json"), "aaaaaaaaaaaaaaaa"); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("RevokeKey(missing file) = %v, want ErrKeyNotFound", err)
	}
}

// TestKeysFileReload checks that a running Authenticator picks up keys
// added and revoked after it started, and fails closed while the file is
// unsafe.
func TestKeysFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	c := newClock(time.Now())
	a := newKeysAuth(t, path, c) // the file does not exist yet
	ctx := context.Background()

	key, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "s", Roles: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	if _, err := a.Authenticate(ctx, key); err != nil {
		t.Fatalf("key added after start: %v", err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	_, err = a.Authenticate(ctx, key)
	if code(err) != auth.CodeUnavailable {
		t.Fatalf("world-readable keys file: code %q (%v), want %q", code(err), err, auth.CodeUnavailable)
	}
	checkPublic(t, err)
	if !strings.Contains(errors.Unwrap(err).Error(), "chmod 600") {
		t.Errorf("cause %q does not tell the operator to chmod 600", errors.Unwrap(err))
	}
	if _, err := auth.AddKey(path, auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{"r"}}); err == nil {
		t.Errorf("AddKey wrote to a world-readable keys file")
	}

	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	if _, err := a.Authenticate(ctx, key); err != nil {
		t.Fatalf("after chmod 600: %v", err)
	}

	if err := auth.RevokeKey(path, strings.Split(key, "_")[1]); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	if _, err := a.Authenticate(ctx, key); code(err) != auth.CodeInvalid {
		t.Fatalf("revoked key: code %q (%v), want %q", code(err), err, auth.CodeInvalid)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	if _, err := a.Authenticate(ctx, key); code(err) != auth.CodeInvalid {
		t.Fatalf("keys file removed: code %q (%v), want %q", code(err), err, auth.CodeInvalid)
	}
}

// TestAddKeyConcurrent checks that concurrent writers do not lose keys and
// that readers always see a complete file.
func TestAddKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := auth.AddKey(path, auth.NewKey{Tenant: "t", Subject: "s0", Roles: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClock(time.Now())
	a := newKeysAuth(t, path, c)
	const writers = 4
	var wg sync.WaitGroup
	keys := make([]string, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			keys[i], errs[i] = auth.AddKey(path, auth.NewKey{Tenant: "t", Subject: fmt.Sprintf("s%d", i+1), Roles: []string{"r"}})
		})
		wg.Go(func() {
			c.Advance(2 * time.Second)
			if _, err := a.Authenticate(context.Background(), first); err != nil {
				t.Errorf("reader during writes: %v", err)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AddKey %d: %v", i, err)
		}
	}
	c.Advance(2 * time.Second)
	for _, k := range append(keys, first) {
		if _, err := a.Authenticate(context.Background(), k); err != nil {
			t.Errorf("key %s lost: %v", k[:19], err)
		}
	}
}
