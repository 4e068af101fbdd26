package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// Fixed material for the fuzz target, so its seeds in
// testdata/fuzz/FuzzAuthenticate stay valid: an Ed25519 key from a fixed
// seed (Ed25519 signatures are deterministic), an API key whose hash is
// written by hand, and a fixed clock.
var (
	fuzzNow    = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	fuzzAPIKey = "tw_fuzzfuzzfuzzfuzz_" + strings.Repeat("seed", 13)
	fuzzEdKey  = signingKey{kid: "fuzz-ed", alg: jose.EdDSA, priv: ed25519.NewKeyFromSeed([]byte("toolwarden-auth-fuzz-seed-000001"))}
)

// newFuzzAuth builds an Authenticator that accepts fuzzAPIKey and tokens
// signed by fuzzEdKey at fuzzNow.
func newFuzzAuth(t testing.TB) *auth.Authenticator {
	t.Helper()
	dir := t.TempDir()
	sum := sha256.Sum256([]byte(fuzzAPIKey[len(fuzzAPIKey)-52:]))
	keys := `{"version":1,"keys":[{"id":"fuzzfuzzfuzzfuzz","hash":"sha256:` + hex.EncodeToString(sum[:]) +
		`","tenant":"acme","subject":"fuzzer","roles":["reader"],"created":"2026-01-01T00:00:00Z"}]}`
	cfg := jwtConfig()
	cfg.JWKSFile = writeFile(t, dir, "jwks.json", jwksJSON(t, fuzzEdKey), 0o644)
	a, err := auth.New(auth.Config{
		KeysFile: writeFile(t, dir, "keys.json", []byte(keys), 0o600),
		JWT:      cfg,
		Now:      func() time.Time { return fuzzNow },
		Logger:   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// FuzzAuthenticate feeds arbitrary bearer strings to Authenticate: it must
// not panic, every refusal must be an *auth.Error with a known code and its
// fixed public message, and nothing but the two genuine credentials (and
// equivalent re-encodings of the token) may authenticate.
func FuzzAuthenticate(f *testing.F) {
	token := sign(f, fuzzEdKey, validClaims(fuzzNow))
	f.Add(fuzzAPIKey)
	f.Add(token)
	f.Add("")
	f.Add("tw_")
	f.Add(strings.ToUpper(fuzzAPIKey))
	f.Add(token[:len(token)-2])
	f.Add(signRaw(f, jose.EdDSA, fuzzEdKey.priv, map[string]any{"kid": fuzzEdKey.kid, "jku": "https://evil.example/jwks"}, mustJSON(f, validClaims(fuzzNow))))
	f.Add(noneToken(map[string]any{"alg": "none", "kid": fuzzEdKey.kid}, validClaims(fuzzNow)) + "x")
	a := newFuzzAuth(f)
	for _, genuine := range []string{fuzzAPIKey, token} {
		if _, err := a.Authenticate(context.Background(), genuine); err != nil {
			f.Fatalf("genuine seed %.20q… refused: %v", genuine, err)
		}
	}
	f.Fuzz(func(t *testing.T, bearer string) {
		p, err := a.Authenticate(context.Background(), bearer)
		if err == nil {
			if p.Tenant != "acme" || (p.Method != "apikey" && p.Method != "jwt") {
				t.Fatalf("Authenticate(%q) accepted as %+v", bearer, p)
			}
			if p.Method == "apikey" && bearer != fuzzAPIKey {
				t.Fatalf("Authenticate(%q) accepted an API key that is not the genuine one", bearer)
			}
			return
		}
		var e *auth.Error
		if !errors.As(err, &e) {
			t.Fatalf("Authenticate(%q) error %v (%T) is not an *auth.Error", bearer, err, err)
		}
		checkPublic(t, err)
		if len(bearer) >= 8 && strings.Contains(e.Error(), bearer) {
			t.Fatalf("Authenticate(%q): Error() repeats the credential: %q", bearer, e.Error())
		}
	})
}
