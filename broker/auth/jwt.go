package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Defaults of [JWTConfig].
const (
	DefaultMaxLifetime  = time.Hour
	DefaultSkew         = 60 * time.Second
	DefaultTenantClaim  = "tenant"
	DefaultSubjectClaim = "sub"
	DefaultRolesClaim   = "roles"
	// MaxSkew is the largest clock skew [New] accepts.
	MaxSkew = 5 * time.Minute
)

// DefaultAlgorithms are the signature algorithms accepted when
// [JWTConfig.Algorithms] is empty.
var DefaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// supportedAlgorithms are the algorithms [JWTConfig.Algorithms] may name:
// asymmetric signatures only. "none" and the HMAC family (HS256, …) are
// always refused, so a public key can never be used as an HMAC secret.
var supportedAlgorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

// refusedHeaders are JOSE header parameters that make a token refused: the
// ones that carry or point to a key or certificate (a token must never
// choose the key that verifies it), and the ones that change how the token
// is processed (crit, b64).
var refusedHeaders = []string{"jku", "x5u", "jwk", "x5c", "crit", "b64"}

// JWTConfig configures verification of OIDC/JWT bearer tokens.
//
// # Notes
//
// Exactly one of JWKSFile and JWKSURL must be set. A test that serves its
// JWKS from an httptest TLS server sets HTTPClient to the server's Client()
// so the server's self-signed certificate is trusted.
type JWTConfig struct {
	// Issuer is the exact "iss" every token must carry. Required.
	Issuer string
	// Audience must be the "aud" claim or one of its entries. Required.
	Audience string
	// JWKSFile is a local JWK Set file; it is reloaded when it changes
	// (checked at most once a second).
	JWKSFile string
	// JWKSURL is an https:// URL serving the issuer's JWK Set. It is fetched
	// on first use with a 10s timeout and a 1 MiB cap, cached, refetched
	// after 15 minutes or when a token names an unknown kid, but never more
	// than once a minute.
	JWKSURL string
	// HTTPClient fetches JWKSURL. Nil means a client with a 10s timeout and
	// the default transport. It is copied, not modified; redirects must stay
	// on https.
	HTTPClient *http.Client
	// Algorithms accepted in the "alg" header. Empty means
	// [DefaultAlgorithms]. Only RS256/384/512, PS256/384/512, ES256/384/512
	// and EdDSA may be named; "none" and HS* are refused by [New].
	Algorithms []string
	// MaxLifetime is the longest exp-iat accepted (exp-now if the token has
	// no iat). Zero means [DefaultMaxLifetime]; negative is an error.
	MaxLifetime time.Duration
	// Skew is the clock skew tolerated on exp, nbf and iat. Zero means
	// [DefaultSkew]; negative or above [MaxSkew] is an error.
	Skew time.Duration
	// TenantClaim names the claim holding the tenant, a simple identifier.
	// Empty means [DefaultTenantClaim].
	TenantClaim string
	// SubjectClaim names the claim holding the subject. Empty means
	// [DefaultSubjectClaim].
	SubjectClaim string
	// RolesClaim names the claim holding the roles: an array of strings, or
	// one string of space-separated roles (as OAuth "scope" is). Empty means
	// [DefaultRolesClaim].
	RolesClaim string
}

// jwtVerifier checks tokens against a validated JWTConfig.
type jwtVerifier struct {
	issuer       string
	audience     string
	algs         []jose.SignatureAlgorithm
	maxLifetime  time.Duration
	skew         time.Duration
	tenantClaim  string
	subjectClaim string
	rolesClaim   string
	source       keySource
}

// newJWTVerifier validates c and builds its key source.
func newJWTVerifier(c JWTConfig, logger *slog.Logger) (*jwtVerifier, error) {
	if c.Issuer == "" {
		return nil, errors.New("auth: JWTConfig.Issuer is empty")
	}
	if c.Audience == "" {
		return nil, errors.New("auth: JWTConfig.Audience is empty")
	}
	v := &jwtVerifier{
		issuer:       c.Issuer,
		audience:     c.Audience,
		maxLifetime:  cmpOr(c.MaxLifetime, DefaultMaxLifetime),
		skew:         cmpOr(c.Skew, DefaultSkew),
		tenantClaim:  cmpOr(c.TenantClaim, DefaultTenantClaim),
		subjectClaim: cmpOr(c.SubjectClaim, DefaultSubjectClaim),
		rolesClaim:   cmpOr(c.RolesClaim, DefaultRolesClaim),
	}
	if c.MaxLifetime < 0 {
		return nil, fmt.Errorf("auth: JWTConfig.MaxLifetime %s is negative", c.MaxLifetime)
	}
	if c.Skew < 0 || c.Skew > MaxSkew {
		return nil, fmt.Errorf("auth: JWTConfig.Skew %s is outside [0, %s]", c.Skew, MaxSkew)
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		if !slices.Contains(supportedAlgorithms, a) {
			return nil, fmt.Errorf("auth: JWTConfig.Algorithms: %q is not accepted (only %s)", a, strings.Join(supportedAlgorithms, ", "))
		}
		if !slices.Contains(v.algs, jose.SignatureAlgorithm(a)) {
			v.algs = append(v.algs, jose.SignatureAlgorithm(a))
		}
	}
	switch {
	case c.JWKSFile != "" && c.JWKSURL != "":
		return nil, errors.New("auth: JWTConfig sets both JWKSFile and JWKSURL; set one")
	case c.JWKSFile != "":
		v.source = &fileKeys{file: newWatchedFile(c.JWKSFile, "JWKS", logger, func(p string) (keySet, error) {
			return readJWKSFile(p, logger)
		}, nil)}
	case c.JWKSURL != "":
		u, err := url.Parse(c.JWKSURL)
		if err != nil {
			return nil, fmt.Errorf("auth: JWTConfig.JWKSURL: %w", err)
		}
		if u.Scheme != "https" || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("auth: JWTConfig.JWKSURL %q: want an https:// URL with a host and no user info", c.JWKSURL)
		}
		v.source = newRemoteKeys(u.String(), c.HTTPClient, logger)
	default:
		return nil, errors.New("auth: JWTConfig needs JWKSFile or JWKSURL")
	}
	return v, nil
}

// cmpOr returns v, or def if v is the zero value.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// verify checks a compact JWS token and returns the principal it names.
func (v *jwtVerifier) verify(ctx context.Context, token string, now time.Time) (Principal, error) {
	head, _, _ := strings.Cut(token, ".")
	hdrJSON, err := base64.RawURLEncoding.Strict().DecodeString(head)
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: header: %w", err))
	}
	hdr, err := strictjson.Members(hdrJSON, strictjson.Limits{MaxBytes: maxBearerBytes})
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: header: %w", err))
	}
	for _, name := range refusedHeaders {
		if _, ok := hdr[name]; ok {
			return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: header %q refused", name))
		}
	}
	alg, err := stringMember(hdr, "alg")
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: header: %w", err))
	}
	if !slices.Contains(v.algs, jose.SignatureAlgorithm(alg)) {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: alg %q not accepted", alg))
	}
	kid, err := stringMember(hdr, "kid")
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: header: %w", err))
	}
	published, err := v.source.keys(ctx, kid, now)
	if err != nil {
		return Principal{}, fail(CodeUnavailable, fmt.Errorf("jwt: keys: %w", err))
	}
	var candidates []publicKey
	for _, k := range published {
		if keyFitsAlg(k, alg) {
			candidates = append(candidates, k)
		}
	}
	if len(candidates) == 0 {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: no %s key with kid %q in the JWKS", alg, kid))
	}
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: %w", err))
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.Algorithm != alg || jws.Signatures[0].Header.KeyID != kid {
		return Principal{}, fail(CodeInvalid, errors.New("jwt: header parsed inconsistently"))
	}
	var payload []byte
	for _, k := range candidates {
		if payload, err = jws.Verify(k.key); err == nil {
			break
		}
	}
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: signature (kid %q): %w", kid, err))
	}
	return v.checkClaims(payload, kid, now)
}

// checkClaims checks the verified claims set and builds the principal.
func (v *jwtVerifier) checkClaims(payload []byte, kid string, now time.Time) (Principal, error) {
	claims, err := strictjson.Members(payload, strictjson.Limits{MaxBytes: maxBearerBytes})
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: claims: %w", err))
	}
	iss, err := stringMember(claims, "iss")
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: %w", err))
	}
	if iss != v.issuer {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: issuer %q is not %q", iss, v.issuer))
	}

	exp, ok, err := numericDate(claims, "exp")
	if err == nil && !ok {
		err = errors.New(`claim "exp" missing`)
	}
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: %w", err))
	}
	if now.After(exp.Add(v.skew)) {
		return Principal{}, fail(CodeExpired, fmt.Errorf("jwt: expired at %s", exp.Format(time.RFC3339)))
	}
	nbf, ok, err := numericDate(claims, "nbf")
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: %w", err))
	}
	if ok && now.Add(v.skew).Before(nbf) {
		return Principal{}, fail(CodeExpired, fmt.Errorf("jwt: not valid before %s", nbf.Format(time.RFC3339)))
	}
	iat, hasIat, err := numericDate(claims, "iat")
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: %w", err))
	}
	if hasIat {
		if now.Add(v.skew).Before(iat) {
			return Principal{}, fail(CodeExpired, fmt.Errorf("jwt: issued in the future (%s)", iat.Format(time.RFC3339)))
		}
		if exp.Sub(iat) > v.maxLifetime {
			return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: lifetime %s exceeds %s", exp.Sub(iat), v.maxLifetime))
		}
	} else if exp.Sub(now) > v.maxLifetime+v.skew {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: no iat and exp is %s away, more than %s", exp.Sub(now).Round(time.Second), v.maxLifetime))
	}

	aud, err := audiences(claims)
	if err != nil {
		return Principal{}, fail(CodeAudience, fmt.Errorf("jwt: %w", err))
	}
	if !slices.Contains(aud, v.audience) {
		return Principal{}, fail(CodeAudience, fmt.Errorf("jwt: audience %q does not include %q", aud, v.audience))
	}

	tenant, err := stringMember(claims, v.tenantClaim)
	if err == nil && !isIdentifier(tenant) {
		err = fmt.Errorf("claim %q is not a simple identifier", v.tenantClaim)
	}
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: tenant: %w", err))
	}
	subject, err := stringMember(claims, v.subjectClaim)
	if err == nil && !validSubject(subject) {
		err = fmt.Errorf("claim %q is malformed", v.subjectClaim)
	}
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: subject: %w", err))
	}
	roles, err := rolesMember(claims, v.rolesClaim)
	if err != nil {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: roles: %w", err))
	}
	keyID := kid
	if _, ok := claims["jti"]; ok {
		jti, err := stringMember(claims, "jti")
		if err == nil && !validSubject(jti) {
			err = errors.New(`claim "jti" is malformed`)
		}
		if err != nil {
			return Principal{}, fail(CodeInvalid, fmt.Errorf("jwt: %w", err))
		}
		keyID = jti
	}
	return Principal{
		Tenant:   tenant,
		Subject:  subject,
		Roles:    roles,
		Method:   MethodJWT,
		Audience: v.audience,
		KeyID:    keyID,
		Expires:  exp,
	}, nil
}

// member decodes one member's value, as strictjson.Members returned it.
func member(raw json.RawMessage, v any) error {
	return strictjson.Unmarshal(raw, v, strictjson.Limits{MaxBytes: maxBearerBytes})
}

// stringMember returns the non-empty string member name of m.
func stringMember(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", fmt.Errorf("%q missing", name)
	}
	var s string
	if err := member(raw, &s); err != nil {
		return "", fmt.Errorf("%q is not a string", name)
	}
	if s == "" {
		return "", fmt.Errorf("%q is empty", name)
	}
	return s, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z, the last second time.Time
// formats as RFC 3339.
const maxNumericDate = 253402300799

// numericDate reads a NumericDate claim (seconds since the epoch, possibly
// fractional). ok is false if the claim is absent.
func numericDate(m map[string]json.RawMessage, name string) (t time.Time, ok bool, err error) {
	raw, ok := m[name]
	if !ok {
		return time.Time{}, false, nil
	}
	var f float64
	if err := member(raw, &f); err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, true, fmt.Errorf("claim %q is not a NumericDate", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

// audiences reads the "aud" claim: one string or an array of strings.
func audiences(m map[string]json.RawMessage) ([]string, error) {
	raw, ok := m["aud"]
	if !ok {
		return nil, errors.New(`claim "aud" missing`)
	}
	var one string
	if member(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := member(raw, &many); err != nil || len(many) == 0 {
		return nil, errors.New(`claim "aud" is neither a string nor a non-empty array of strings`)
	}
	return many, nil
}

// rolesMember reads a roles claim: an array of strings or one string of
// space-separated roles. Repeats are dropped; the result must pass
// validateRoles.
func rolesMember(m map[string]json.RawMessage, name string) ([]string, error) {
	raw, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("claim %q missing", name)
	}
	var roles []string
	var one string
	if member(raw, &one) == nil {
		roles = strings.Fields(one)
	} else if err := member(raw, &roles); err != nil {
		return nil, fmt.Errorf("claim %q is neither a string nor an array of strings", name)
	}
	if len(roles) > maxRoles {
		return nil, fmt.Errorf("claim %q: %d roles, at most %d allowed", name, len(roles), maxRoles)
	}
	var uniq []string
	for _, r := range roles {
		if !slices.Contains(uniq, r) {
			uniq = append(uniq, r)
		}
	}
	if err := validateRoles(uniq); err != nil {
		return nil, fmt.Errorf("claim %q: %w", name, err)
	}
	return uniq, nil
}

// validSubject reports whether s is an acceptable subject or token id:
// 1 to 256 bytes of valid UTF-8 without spaces or control characters. It is
// looser than a simple identifier because issuers use forms like
// "auth0|5f…" or e-mail addresses.
func validSubject(s string) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
