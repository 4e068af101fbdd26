package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// quiet discards the Authenticator's logs in tests.
var quiet = slog.New(slog.DiscardHandler)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// signingKey is a test key pair with the kid it is published under.
type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k signingKey) public() crypto.PublicKey { return k.priv.Public() }

// testKeys are generated once per test binary: RSA generation is slow
// under -race.
var testKeys = sync.OnceValue(func() struct{ rsa, ec, ed, attacker signingKey } {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, dk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	ak, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return struct{ rsa, ec, ed, attacker signingKey }{
		rsa:      signingKey{kid: "rsa-1", alg: jose.RS256, priv: rk},
		ec:       signingKey{kid: "ec-1", alg: jose.ES256, priv: ek},
		ed:       signingKey{kid: "ed-1", alg: jose.EdDSA, priv: dk},
		attacker: signingKey{kid: "attacker-1", alg: jose.ES256, priv: ak},
	}
})

// jwksJSON returns the public JWK Set of keys.
func jwksJSON(t testing.TB, keys ...signingKey) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.public(), KeyID: k.kid, Use: "sig"})
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatalf("marshal JWKS: %v", err)
	}
	return data
}

// signRaw signs payload as a compact JWS with alg and key; hdr adds
// protected header members (kid among them).
func signRaw(t testing.TB, alg jose.SignatureAlgorithm, key any, hdr map[string]any, payload []byte) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range hdr {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatalf("CompactSerialize: %v", err)
	}
	return tok
}

// sign signs claims with k under its kid.
func sign(t testing.TB, k signingKey, claims map[string]any) string {
	t.Helper()
	return signRaw(t, k.alg, k.priv, map[string]any{"kid": k.kid}, mustJSON(t, claims))
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return data
}

const (
	testIssuer   = "https://idp.example.com/"
	testAudience = "https://toolwarden.example.com/mcp"
)

// validClaims are claims every check accepts at now.
func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":    testIssuer,
		"aud":    testAudience,
		"sub":    "alice@example.com",
		"tenant": "acme",
		"roles":  []string{"analyst", "reader"},
		"iat":    now.Add(-time.Minute).Unix(),
		"exp":    now.Add(10 * time.Minute).Unix(),
		"jti":    "tok-123",
	}
}

// with returns a copy of claims with the given members set (a nil value
// deletes the member).
func with(claims map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// writeFile writes data at dir/name with mode perm and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// code returns the reason code of err, "" for nil and "<uncoded>" for an
// error that is not an *auth.Error.
func code(err error) string {
	if err == nil {
		return ""
	}
	var e *auth.Error
	if !errors.As(err, &e) {
		return "<uncoded>"
	}
	return e.ReasonCode()
}

// checkPublic fails if a refusal's public message is not the short
// category for its code (it must not tell which check failed).
func checkPublic(t testing.TB, err error) {
	t.Helper()
	var e *auth.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	want := map[string]string{
		auth.CodeMissing:     "no credential presented",
		auth.CodeInvalid:     "credential not accepted",
		auth.CodeExpired:     "credential expired or not yet valid",
		auth.CodeAudience:    "token not issued for this service",
		auth.CodeUnavailable: "authentication is unavailable, try again later",
	}[e.Code]
	if want == "" {
		t.Fatalf("unknown code %q", e.Code)
	}
	if e.Public != want || e.Error() != e.Code+": "+want {
		t.Errorf("public message = %q, Error() = %q; want %q", e.Public, e.Error(), want)
	}
}
