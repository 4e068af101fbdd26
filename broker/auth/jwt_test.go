package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/toolwarden/toolwarden/broker/auth"
)

var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// jwksServer is an httptest TLS server publishing a JWKS it can change.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex // guards body, status
	body []byte
	code int
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{body: body, code: http.StatusOK}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, code := s.body, s.code
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(code int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code, s.body = code, body
}

// jwtConfig is the configuration the tests share; JWKS source set by caller.
func jwtConfig() *auth.JWTConfig {
	return &auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256", "ES256", "EdDSA"}}
}

func newFileJWTAuth(t *testing.T, c *clock) *auth.Authenticator {
	t.Helper()
	k := testKeys()
	cfg := jwtConfig()
	cfg.JWKSFile = writeFile(t, t.TempDir(), "jwks.json", jwksJSON(t, k.rsa, k.ec, k.ed), 0o644)
	a, err := auth.New(auth.Config{Logger: quiet, JWT: cfg, Now: c.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// noneToken builds an unsigned token with the given header.
func noneToken(hdr map[string]any, claims map[string]any) string {
	h, _ := jsonBytes(hdr)
	c, _ := jsonBytes(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func TestJWT(t *testing.T) {
	k := testKeys()
	now := t0
	claims := validClaims(now)
	rsaPub, err := x509.MarshalPKIXPublicKey(k.rsa.public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPub})

	attackerJWKS := newJWKSServer(t, jwksJSON(t, k.attacker, signingKey{kid: k.rsa.kid, priv: k.attacker.priv}))

	// tamper re-encodes the payload of a valid token with other claims,
	// keeping the original header and signature.
	tamper := func(tok string, claims map[string]any) string {
		parts := strings.Split(tok, ".")
		parts[1] = base64.RawURLEncoding.EncodeToString(mustJSON(t, claims))
		return strings.Join(parts, ".")
	}

	tests := []struct {
		name  string
		token string
		code  string
	}{
		{name: "valid RS256", token: sign(t, k.rsa, claims)},
		{name: "valid ES256", token: sign(t, k.ec, claims)},
		{name: "valid EdDSA", token: sign(t, k.ed, claims)},
		{name: "audience in array", token: sign(t, k.rsa, with(claims, "aud", []string{"other", testAudience}))},
		{name: "roles as space-separated string", token: sign(t, k.rsa, with(claims, "roles", "analyst reader"))},
		{name: "expired within skew", token: sign(t, k.rsa, with(claims, "exp", now.Add(-30*time.Second).Unix(), "iat", now.Add(-10*time.Minute).Unix()))},
		{name: "no iat, short exp", token: sign(t, k.rsa, with(claims, "iat", nil))},
		{name: "nbf past", token: sign(t, k.rsa, with(claims, "nbf", now.Add(-time.Minute).Unix()))},
		{name: "fractional dates", token: sign(t, k.rsa, with(claims, "exp", float64(now.Add(5*time.Minute).Unix())+0.5))},

		{name: "wrong audience", token: sign(t, k.rsa, with(claims, "aud", "https://other.example.com")), code: auth.CodeAudience},
		{name: "wrong audience in array", token: sign(t, k.rsa, with(claims, "aud", []string{"a", "b"})), code: auth.CodeAudience},
		{name: "missing audience", token: sign(t, k.rsa, with(claims, "aud", nil)), code: auth.CodeAudience},
		{name: "audience prefix", token: sign(t, k.rsa, with(claims, "aud", testAudience+"/x")), code: auth.CodeAudience},
		{name: "expired", token: sign(t, k.rsa, with(claims, "exp", now.Add(-2*time.Minute).Unix(), "iat", now.Add(-30*time.Minute).Unix())), code: auth.CodeExpired},
		{name: "nbf future", token: sign(t, k.rsa, with(claims, "nbf", now.Add(5*time.Minute).Unix())), code: auth.CodeExpired},
		{name: "iat future", token: sign(t, k.rsa, with(claims, "iat", now.Add(5*time.Minute).Unix())), code: auth.CodeExpired},
		{name: "lifetime too long", token: sign(t, k.rsa, with(claims, "exp", now.Add(2*time.Hour).Unix())), code: auth.CodeInvalid},
		{name: "no iat, exp too far", token: sign(t, k.rsa, with(claims, "iat", nil, "exp", now.Add(3*time.Hour).Unix())), code: auth.CodeInvalid},
		{name: "missing exp", token: sign(t, k.rsa, with(claims, "exp", nil)), code: auth.CodeInvalid},
		{name: "exp not a number", token: sign(t, k.rsa, with(claims, "exp", "tomorrow")), code: auth.CodeInvalid},
		{name: "wrong issuer", token: sign(t, k.rsa, with(claims, "iss", "https://evil.example.com/")), code: auth.CodeInvalid},
		{name: "issuer without trailing slash", token: sign(t, k.rsa, with(claims, "iss", strings.TrimSuffix(testIssuer, "/"))), code: auth.CodeInvalid},
		{name: "missing issuer", token: sign(t, k.rsa, with(claims, "iss", nil)), code: auth.CodeInvalid},
		{name: "missing tenant claim", token: sign(t, k.rsa, with(claims, "tenant", nil)), code: auth.CodeInvalid},
		{name: "tenant not an identifier", token: sign(t, k.rsa, with(claims, "tenant", "acme/../other")), code: auth.CodeInvalid},
		{name: "tenant not a string", token: sign(t, k.rsa, with(claims, "tenant", []string{"acme"})), code: auth.CodeInvalid},
		{name: "missing subject", token: sign(t, k.rsa, with(claims, "sub", nil)), code: auth.CodeInvalid},
		{name: "subject with newline", token: sign(t, k.rsa, with(claims, "sub", "alice\nadmin")), code: auth.CodeInvalid},
		{name: "missing roles", token: sign(t, k.rsa, with(claims, "roles", nil)), code: auth.CodeInvalid},
		{name: "empty roles", token: sign(t, k.rsa, with(claims, "roles", []string{})), code: auth.CodeInvalid},
		{name: "role not an identifier", token: sign(t, k.rsa, with(claims, "roles", []string{"a b"})), code: auth.CodeInvalid},
		{name: "repeated tenant claim", token: signRaw(t, jose.RS256, k.rsa.priv, map[string]any{"kid": k.rsa.kid},
			[]byte(strings.Replace(string(mustJSON(t, claims)), `"tenant":"acme"`, `"tenant":"acme","tenant":"other"`, 1))), code: auth.CodeInvalid},

		{name: "alg none", token: noneToken(map[string]any{"alg": "none", "kid": k.rsa.kid}, claims), code: auth.CodeInvalid},
		{name: "alg none with signature", token: noneToken(map[string]any{"alg": "none", "kid": k.rsa.kid}, claims) + "AAAA", code: auth.CodeInvalid},
		{name: "HS256 with RSA public key as secret", token: signRaw(t, jose.HS256, rsaPEM, map[string]any{"kid": k.rsa.kid}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "HS256 with RSA DER as secret", token: signRaw(t, jose.HS256, rsaPub, map[string]any{"kid": k.rsa.kid}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "alg not configured", token: signRaw(t, jose.RS384, k.rsa.priv, map[string]any{"kid": k.rsa.kid}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "alg does not fit key type", token: signRaw(t, jose.ES256, k.ec.priv, map[string]any{"kid": k.rsa.kid}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "unknown kid", token: signRaw(t, jose.RS256, k.rsa.priv, map[string]any{"kid": "rsa-2"}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "no kid", token: signRaw(t, jose.RS256, k.rsa.priv, nil, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "attacker key under a known kid", token: signRaw(t, jose.ES256, k.attacker.priv, map[string]any{"kid": k.ec.kid}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "tampered payload", token: tamper(sign(t, k.rsa, claims), with(claims, "tenant", "other")), code: auth.CodeInvalid},
		{name: "jku to attacker JWKS, attacker-signed", token: signRaw(t, jose.ES256, k.attacker.priv,
			map[string]any{"kid": k.attacker.kid, "jku": attackerJWKS.URL}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "jku to attacker JWKS, attacker-signed, known kid", token: signRaw(t, jose.ES256, k.attacker.priv,
			map[string]any{"kid": k.ec.kid, "jku": attackerJWKS.URL}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "jku on a genuine token", token: signRaw(t, jose.RS256, k.rsa.priv,
			map[string]any{"kid": k.rsa.kid, "jku": attackerJWKS.URL}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "x5u header", token: signRaw(t, jose.RS256, k.rsa.priv,
			map[string]any{"kid": k.rsa.kid, "x5u": attackerJWKS.URL}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "embedded jwk", token: func() string {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.attacker.priv}, &jose.SignerOptions{EmbedJWK: true})
			if err != nil {
				t.Fatal(err)
			}
			obj, err := s.Sign(mustJSON(t, claims))
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := obj.CompactSerialize()
			return tok
		}(), code: auth.CodeInvalid},
		{name: "crit header", token: signRaw(t, jose.RS256, k.rsa.priv,
			map[string]any{"kid": k.rsa.kid, "crit": []string{"exp"}, "exp": 1}, mustJSON(t, claims)), code: auth.CodeInvalid},
		{name: "repeated alg header", token: func() string {
			tok := sign(t, k.rsa, claims)
			parts := strings.Split(tok, ".")
			parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"` + k.rsa.kid + `","alg":"none"}`))
			return strings.Join(parts, ".")
		}(), code: auth.CodeInvalid},
		{name: "four parts", token: sign(t, k.rsa, claims) + ".AAAA", code: auth.CodeInvalid},
		{name: "padded base64", token: strings.Replace(sign(t, k.rsa, claims), ".", "=.", 1), code: auth.CodeInvalid},
		{name: "garbage", token: "a.b.c", code: auth.CodeInvalid},
		{name: "api key when keys are off", token: "tw_aaaaaaaaaaaaaaaa_" + strings.Repeat("a", 52), code: auth.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newFileJWTAuth(t, newClock(now))
			p, err := a.Authenticate(context.Background(), tc.token)
			if got := code(err); got != tc.code {
				t.Fatalf("Authenticate code = %q (%v), want %q", got, err, tc.code)
			}
			if err != nil {
				t.Logf("cause: %v", errors.Unwrap(err))
				checkPublic(t, err)
				return
			}
			if p.Tenant != "acme" || p.Subject != "alice@example.com" || !slices.Equal(p.Roles, []string{"analyst", "reader"}) ||
				p.Method != "jwt" || p.Audience != testAudience || p.KeyID != "tok-123" || p.Expires.IsZero() {
				t.Errorf("principal = %+v", p)
			}
		})
	}
	if n := attackerJWKS.hits.Load(); n != 0 {
		t.Errorf("attacker JWKS was fetched %d times, want 0", n)
	}
}

func TestJWTPrincipal(t *testing.T) {
	k := testKeys()
	a := newFileJWTAuth(t, newClock(t0))
	exp := t0.Add(10 * time.Minute)
	p, err := a.Authenticate(context.Background(), sign(t, k.ec, with(validClaims(t0), "jti", nil, "exp", exp.Unix(), "roles", "reader reader")))
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{Tenant: "acme", Subject: "alice@example.com", Roles: []string{"reader"}, Method: "jwt",
		Audience: testAudience, KeyID: k.ec.kid, Expires: exp}
	if !principalEqual(p, want) {
		t.Errorf("Authenticate = %+v, want %+v", p, want)
	}
}

func TestJWTCustomClaims(t *testing.T) {
	k := testKeys()
	cfg := jwtConfig()
	cfg.JWKSFile = writeFile(t, t.TempDir(), "jwks.json", jwksJSON(t, k.ed), 0o644)
	cfg.TenantClaim, cfg.SubjectClaim, cfg.RolesClaim = "https://toolwarden.dev/tenant", "email", "scope"
	cfg.MaxLifetime, cfg.Skew = 5*time.Minute, time.Second
	a, err := auth.New(auth.Config{Logger: quiet, JWT: cfg, Now: newClock(t0).Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "123", "email": "bob@example.com",
		"https://toolwarden.dev/tenant": "globex", "scope": "analyst", "tenant": "ignored",
		"iat": t0.Unix(), "exp": t0.Add(4 * time.Minute).Unix(),
	}
	p, err := a.Authenticate(context.Background(), sign(t, k.ed, claims))
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != "globex" || p.Subject != "bob@example.com" || !slices.Equal(p.Roles, []string{"analyst"}) {
		t.Errorf("principal = %+v, want tenant globex, subject bob@example.com, roles [analyst]", p)
	}
	for name, c := range map[string]map[string]any{
		"lifetime over 5m":   with(claims, "exp", t0.Add(6*time.Minute).Unix()),
		"expired beyond 1s":  with(claims, "exp", t0.Add(-2*time.Second).Unix(), "iat", t0.Add(-time.Minute).Unix()),
		"custom tenant gone": with(claims, "https://toolwarden.dev/tenant", nil),
	} {
		if _, err := a.Authenticate(context.Background(), sign(t, k.ed, c)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestJWTConfigValidation(t *testing.T) {
	k := testKeys()
	jwks := writeFile(t, t.TempDir(), "jwks.json", jwksJSON(t, k.ec), 0o644)
	tests := []struct {
		name   string
		mutate func(*auth.JWTConfig)
		want   string
	}{
		{name: "HS256", mutate: func(c *auth.JWTConfig) { c.Algorithms = []string{"RS256", "HS256"} }, want: "HS256"},
		{name: "none", mutate: func(c *auth.JWTConfig) { c.Algorithms = []string{"none"} }, want: "none"},
		{name: "lowercase alg", mutate: func(c *auth.JWTConfig) { c.Algorithms = []string{"rs256"} }, want: "rs256"},
		{name: "no issuer", mutate: func(c *auth.JWTConfig) { c.Issuer = "" }, want: "Issuer"},
		{name: "no audience", mutate: func(c *auth.JWTConfig) { c.Audience = "" }, want: "Audience"},
		{name: "no JWKS", mutate: func(c *auth.JWTConfig) { c.JWKSFile = "" }, want: "JWKS"},
		{name: "both JWKS", mutate: func(c *auth.JWTConfig) { c.JWKSURL = "https://idp.example.com/jwks" }, want: "both"},
		{name: "http JWKS URL", mutate: func(c *auth.JWTConfig) { c.JWKSFile, c.JWKSURL = "", "http://idp.example.com/jwks" }, want: "https"},
		{name: "negative skew", mutate: func(c *auth.JWTConfig) { c.Skew = -time.Second }, want: "Skew"},
		{name: "huge skew", mutate: func(c *auth.JWTConfig) { c.Skew = time.Hour }, want: "Skew"},
		{name: "negative lifetime", mutate: func(c *auth.JWTConfig) { c.MaxLifetime = -time.Second }, want: "MaxLifetime"},
		{name: "missing JWKS file", mutate: func(c *auth.JWTConfig) { c.JWKSFile += ".missing" }, want: "JWKSFile"},
		{name: "JWKS without usable key", mutate: func(c *auth.JWTConfig) {
			c.JWKSFile = writeFile(t, t.TempDir(), "jwks.json", []byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`), 0o644)
		}, want: "no usable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := jwtConfig()
			cfg.JWKSFile = jwks
			tc.mutate(cfg)
			_, err := auth.New(auth.Config{Logger: quiet, JWT: cfg})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := auth.New(auth.Config{Logger: quiet}); err == nil {
		t.Errorf("New(Config{}) accepted a configuration that accepts nothing")
	}
}

// TestJWKSURL checks the JWKS served over HTTPS by an httptest TLS server
// whose self-signed certificate the test trusts through
// JWTConfig.HTTPClient: caching, refetch on an unknown kid at most once a
// minute, and failing closed while no keys could ever be fetched.
func TestJWKSURL(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t, jwksJSON(t, k.rsa))
	c := newClock(t0)
	cfg := jwtConfig()
	cfg.JWKSURL = srv.URL + "/.well-known/jwks.json"
	cfg.HTTPClient = srv.Client()
	a, err := auth.New(auth.Config{Logger: quiet, JWT: cfg, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if srv.hits.Load() != 0 {
		t.Errorf("New fetched the JWKS; it should wait for the first token")
	}
	authn := func(key signingKey) error {
		_, err := a.Authenticate(ctx, sign(t, key, validClaims(c.Now())))
		return err
	}
	steps := []struct {
		name    string
		advance time.Duration
		publish []signingKey
		key     signingKey
		code    string
		hits    int64
	}{
		{name: "first token fetches", key: k.rsa, hits: 1},
		{name: "cached", key: k.rsa, hits: 1},
		{name: "unknown kid within a minute of the fetch: no refetch", advance: 30 * time.Second, publish: []signingKey{k.rsa, k.ec}, key: k.ec, code: auth.CodeInvalid, hits: 1},
		{name: "a minute later the rotated key is fetched", advance: 31 * time.Second, key: k.ec, hits: 2},
		{name: "attacker kid right after a fetch", key: k.attacker, code: auth.CodeInvalid, hits: 2},
		{name: "attacker kid a minute later refetches", advance: 61 * time.Second, key: k.attacker, code: auth.CodeInvalid, hits: 3},
		{name: "attacker kid flood costs one fetch a minute", advance: time.Second, key: k.attacker, code: auth.CodeInvalid, hits: 3},
		{name: "key withdrawn, cache aged out", advance: 16 * time.Minute, publish: []signingKey{k.ec}, key: k.rsa, code: auth.CodeInvalid, hits: 4},
		{name: "remaining key still good", key: k.ec, hits: 4},
	}
	for _, s := range steps {
		c.Advance(s.advance)
		if s.publish != nil {
			srv.set(http.StatusOK, jwksJSON(t, s.publish...))
		}
		err := authn(s.key)
		if got := code(err); got != s.code {
			t.Fatalf("%s: code %q (%v), want %q", s.name, got, err, s.code)
		}
		if got := srv.hits.Load(); got != s.hits {
			t.Fatalf("%s: %d fetches, want %d", s.name, got, s.hits)
		}
	}
}

func TestJWKSURLFailures(t *testing.T) {
	k := testKeys()
	big := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`)
	tests := []struct {
		name   string
		status int
		body   []byte
		client func(*jwksServer) *http.Client
	}{
		{name: "untrusted certificate", status: http.StatusOK, body: jwksJSON(t, k.rsa), client: func(*jwksServer) *http.Client { return nil }},
		{name: "server error", status: http.StatusInternalServerError, body: jwksJSON(t, k.rsa)},
		{name: "oversized", status: http.StatusOK, body: big},
		{name: "not JSON", status: http.StatusOK, body: []byte("<html>")},
		{name: "private key published", status: http.StatusOK, body: func() []byte {
			b, _ := jsonBytes(map[string]any{"keys": []any{jose.JSONWebKey{Key: k.ec.priv, KeyID: k.ec.kid}}})
			return b
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.body)
			srv.set(tc.status, tc.body)
			cfg := jwtConfig()
			cfg.JWKSURL = srv.URL
			cfg.HTTPClient = srv.Client()
			if tc.client != nil {
				cfg.HTTPClient = tc.client(srv)
			}
			a, err := auth.New(auth.Config{Logger: quiet, JWT: cfg, Now: newClock(t0).Now})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Authenticate(context.Background(), sign(t, k.rsa, validClaims(t0)))
			if code(err) != auth.CodeUnavailable {
				t.Fatalf("code %q (%v), want %q", code(err), err, auth.CodeUnavailable)
			}
			checkPublic(t, err)
		})
	}
}

func TestJWKSRedirectToHTTPRefused(t *testing.T) {
	k := testKeys()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(jwksJSON(t, k.rsa))
	}))
	defer plain.Close()
	redirect := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	defer redirect.Close()
	cfg := jwtConfig()
	cfg.JWKSURL = redirect.URL
	cfg.HTTPClient = redirect.Client()
	a, err := auth.New(auth.Config{Logger: quiet, JWT: cfg, Now: newClock(t0).Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), sign(t, k.rsa, validClaims(t0))); code(err) != auth.CodeUnavailable {
		t.Fatalf("JWKS redirected to http: code %q (%v), want %q", code(err), err, auth.CodeUnavailable)
	}
}

// TestAuthenticateConcurrent runs API keys and tokens from many goroutines
// while the keys file changes (run with -race).
func TestAuthenticateConcurrent(t *testing.T) {
	k := testKeys()
	dir := t.TempDir()
	keysPath := dir + "/keys.json"
	key, err := auth.AddKey(keysPath, auth.NewKey{Tenant: "acme", Subject: "s", Roles: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, jwksJSON(t, k.ec))
	c := newClock(time.Now())
	cfg := jwtConfig()
	cfg.JWKSURL, cfg.HTTPClient = srv.URL, srv.Client()
	a, err := auth.New(auth.Config{Logger: quiet, KeysFile: keysPath, JWT: cfg, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, k.ec, validClaims(c.Now()))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				c.Advance(300 * time.Millisecond)
				if _, err := a.Authenticate(context.Background(), key); err != nil {
					t.Errorf("api key: %v", err)
				}
				if _, err := a.Authenticate(context.Background(), tok); err != nil {
					t.Errorf("token: %v", err)
				}
				if i == 0 {
					if _, err := auth.AddKey(keysPath, auth.NewKey{Tenant: "t", Subject: "s", Roles: []string{"r"}}); err != nil {
						t.Errorf("AddKey: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times by concurrent callers, want 1", n)
	}
}
