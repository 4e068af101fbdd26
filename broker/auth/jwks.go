package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

const (
	// maxJWKSBytes bounds a JWKS document, from a file or the network.
	maxJWKSBytes = 1 << 20
	// jwksFetchTimeout bounds one JWKS fetch, whatever the caller's context.
	jwksFetchTimeout = 10 * time.Second
	// jwksRefetchInterval is the least time between two JWKS fetches: a
	// flood of tokens with unknown kids costs at most one fetch a minute.
	jwksRefetchInterval = time.Minute
	// jwksMaxAge is how long fetched keys are used before a refetch, so a
	// key the issuer withdrew stops being accepted.
	jwksMaxAge = 15 * time.Minute
	// minRSABits is the smallest RSA modulus accepted in a JWKS.
	minRSABits = 2048
	// maxJWKSRedirects bounds the (HTTPS-only) redirects of a JWKS fetch.
	maxJWKSRedirects = 3
)

// publicKey is one usable signature-verification key of a JWKS.
type publicKey struct {
	alg string           // the JWK "alg" member, "" if absent
	key crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// keySet maps a kid to the keys published under it.
type keySet map[string][]publicKey

// keySource yields the keys published under a kid. An error means the
// source could not be read at all (the caller fails closed with
// CodeUnavailable); an unknown kid is an empty result and no error.
type keySource interface {
	keys(ctx context.Context, kid string, now time.Time) ([]publicKey, error)
}

// privateJWKMembers are the JWK members that carry private or symmetric key
// material; a JWKS entry with any of them is skipped.
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// parseJWKS decodes a JWK Set and keeps the keys usable for verifying
// signatures: public RSA (2048 bits or more), ECDSA (P-256, P-384, P-521)
// and Ed25519 keys that have a kid and whose "use", if present, is "sig".
// Other entries (encryption keys, symmetric or private keys, unknown key
// types) are skipped and named in skipped. A set with no usable key is an
// error.
func parseJWKS(data []byte) (set keySet, skipped []string, err error) {
	// A JWK Set may carry members of its own beside "keys" (RFC 7517
	// section 5); they are skipped, never folded onto "keys".
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := strictjson.Unmarshal(data, &doc, strictjson.Limits{MaxBytes: maxJWKSBytes, AllowUnknownFields: true}); err != nil {
		return nil, nil, fmt.Errorf("jwks: %w", err)
	}
	set = keySet{}
	for i, raw := range doc.Keys {
		k, kid, why := parseJWK(raw)
		if why != "" {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %q): %s", i, kid, why))
			continue
		}
		set[kid] = append(set[kid], k)
	}
	if len(set) == 0 {
		return nil, skipped, fmt.Errorf("jwks: no usable signing key among %d keys", len(doc.Keys))
	}
	return set, skipped, nil
}

// parseJWK reads one JWKS entry; why is non-empty if the entry is skipped.
func parseJWK(raw json.RawMessage) (k publicKey, kid, why string) {
	m, err := strictjson.Members(raw, strictjson.Limits{MaxBytes: maxJWKSBytes})
	if err != nil {
		return k, "", "not a JSON object"
	}
	if kid, err = stringMember(m, "kid"); err != nil {
		return k, "", "no kid"
	}
	for _, name := range privateJWKMembers {
		if _, ok := m[name]; ok {
			return k, kid, "carries private or symmetric key material"
		}
	}
	if use, ok := m["use"]; ok {
		var u string
		if member(use, &u) != nil || u != "sig" {
			return k, kid, "use is not \"sig\""
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return k, kid, err.Error()
	}
	switch pub := jwk.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return k, kid, fmt.Sprintf("RSA key of %d bits, at least %d required", pub.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if c := pub.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
			return k, kid, "unsupported curve"
		}
	case ed25519.PublicKey:
	default:
		return k, kid, fmt.Sprintf("unsupported key type %T", jwk.Key)
	}
	return publicKey{alg: jwk.Algorithm, key: jwk.Key}, kid, ""
}

// keyFitsAlg reports whether a key of this type may verify a signature made
// with alg, so that a token cannot pick an algorithm the key was not made for.
func keyFitsAlg(k publicKey, alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return pub.Curve == elliptic.P256()
		case "ES384":
			return pub.Curve == elliptic.P384()
		case "ES512":
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// readJWKSFile loads a JWKS from a local file.
func readJWKSFile(path string, logger *slog.Logger) (keySet, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := readCapped(fh, maxJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	set, skipped, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range skipped {
		logger.Warn("auth: JWKS entry skipped", "file", path, "entry", s)
	}
	return set, nil
}

// readCapped reads all of r, or fails if r holds more than limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// fileKeys serves a JWKS file, reloaded when it changes.
type fileKeys struct {
	file *watchedFile[keySet]
}

func (f *fileKeys) keys(_ context.Context, kid string, now time.Time) ([]publicKey, error) {
	set, err := f.file.get(now)
	if err != nil {
		return nil, err
	}
	return set[kid], nil
}

// remoteKeys serves a JWKS fetched over HTTPS: cached, refetched after
// jwksMaxAge or on an unknown kid, never more than once per
// jwksRefetchInterval. If a refetch fails, the keys already fetched stay in
// use (an outage of the issuer does not lock everyone out) until the next
// successful fetch.
type remoteKeys struct {
	url    string
	client *http.Client
	logger *slog.Logger

	fetchMu sync.Mutex // held to decide on and run a fetch: one at a time, later callers see its result

	mu        sync.Mutex // guards following
	set       keySet
	fetched   time.Time // when set was fetched
	attempted time.Time // when the last fetch started
	lastErr   error     // why the last fetch failed
}

// newRemoteKeys builds the HTTPS client for a JWKS URL. The caller's client,
// if any, is copied, never modified; redirects must stay on HTTPS.
func newRemoteKeys(url string, client *http.Client, logger *slog.Logger) *remoteKeys {
	c := http.Client{}
	if client != nil {
		c = *client
	}
	if c.Timeout == 0 {
		c.Timeout = jwksFetchTimeout
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("jwks: redirect to non-https URL %s refused", req.URL.Redacted())
		}
		if len(via) >= maxJWKSRedirects {
			return fmt.Errorf("jwks: more than %d redirects", maxJWKSRedirects)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &remoteKeys{url: url, client: &c, logger: logger}
}

func (r *remoteKeys) keys(ctx context.Context, kid string, now time.Time) ([]publicKey, error) {
	if ks, ok := r.cached(kid, now); ok {
		return ks, nil
	}
	// Slow path, one caller at a time: a caller arriving during a fetch
	// waits for it and then sees its result.
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	if ks, ok := r.cached(kid, now); ok {
		return ks, nil
	}
	r.mu.Lock()
	set, attempted, lastErr := r.set, r.attempted, r.lastErr
	if !attempted.IsZero() && now.Sub(attempted) < jwksRefetchInterval && !now.Before(attempted) {
		r.mu.Unlock()
		if set == nil {
			return nil, fmt.Errorf("jwks %s: %w", r.url, lastErr)
		}
		return set[kid], nil
	}
	r.attempted = now
	r.mu.Unlock()

	got, err := r.fetch(ctx)
	r.mu.Lock()
	if err == nil {
		r.set, r.fetched, r.lastErr = got, now, nil
	} else {
		r.lastErr = err
	}
	set = r.set
	r.mu.Unlock()
	if err != nil {
		r.logger.Error("auth: JWKS fetch failed", "url", r.url, "err", err, "cached_keys", len(set))
		if set == nil {
			return nil, fmt.Errorf("jwks %s: %w", r.url, err)
		}
	}
	return set[kid], nil
}

// cached returns the keys under kid if the cache is fresh and holds them.
func (r *remoteKeys) cached(kid string, now time.Time) ([]publicKey, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ks, ok := r.set[kid]
	return ks, ok && now.Sub(r.fetched) < jwksMaxAge
}

// fetch downloads and parses the JWKS. It runs under its own timeout and is
// not cancelled with the caller's request, so one client hanging up does
// not turn into a minute without keys for everyone.
func (r *remoteKeys) fetch(ctx context.Context) (keySet, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	data, err := readCapped(resp.Body, maxJWKSBytes)
	if err != nil {
		return nil, err
	}
	set, skipped, err := parseJWKS(data)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		r.logger.Warn("auth: JWKS entry skipped", "url", r.url, "entry", s)
	}
	return set, nil
}
