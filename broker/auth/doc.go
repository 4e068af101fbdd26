// Package auth turns a bearer credential (an API key or an OIDC/JWT token)
// into a [Principal]: tenant, subject and roles. It owns the API keys file
// and JWT verification; what a principal may then do is decided by
// broker/policy, not here.
//
// # API keys
//
// A key reads "tw_<id>_<secret>": id is 10 random bytes and secret 32
// random bytes, both in lowercase unpadded base32. The id is public (it
// names the key in logs, the audit log and `toolwarden keys revoke`); the
// secret is shown once by [AddKey] and never stored. The keys file (JSON,
// mode 0600, rewritten atomically under a lock) holds for each key its id,
// "sha256:" + hex(SHA-256(secret)), tenant, subject, roles, creation time
// and optional expiry. [LoadKeys] refuses a file group or others may read
// or write, unknown, repeated or case-variant fields, and malformed
// entries.
//
// Why a fast hash and not bcrypt or Argon2? Slow hashes exist to protect
// passwords, which people choose from a small space. A key's secret is 256
// bits from crypto/rand: no dictionary holds it and no amount of guessing
// against a stolen hash finds it, so a slow hash would add nothing but
// latency to every request (and a denial-of-service lever). SHA-256 is
// preimage-resistant, and the stored hash is compared with
// crypto/subtle.ConstantTimeCompare.
//
// An [Authenticator] notices changes to the keys file (another inode,
// mtime, size or mode, checked at most once a second), so `toolwarden keys
// add` and `keys revoke` take effect on a running broker without a
// restart. If the file becomes unreadable or invalid, API keys are refused
// with [CodeUnavailable] until it is fixed: nothing is accepted on the
// strength of an older version.
//
// # JWT
//
// A compact JWS is accepted only if all of these hold:
//   - its protected header is a JSON object without repeated members,
//     carries no "jku", "x5u", "jwk", "x5c", "crit" or "b64" (such tokens
//     are refused, not merely ignored: the key that verifies a token comes
//     only from the configured JWKS, never from the token, and nothing
//     is fetched from a URL a token names);
//   - its "alg" is one of [JWTConfig.Algorithms] ("none" and HS* can never
//     be configured, so a public key cannot be abused as an HMAC secret);
//   - its "kid" names a key in the configured JWKS whose type fits alg
//     (RSA for RS*/PS*, the matching curve for ES*, Ed25519 for EdDSA) and
//     whose JWK "alg", if present, equals it, and the signature verifies;
//   - "iss" equals [JWTConfig.Issuer] exactly; "exp" is present and not
//     passed; "nbf" and "iat" are not in the future; exp-iat is at most
//     [JWTConfig.MaxLifetime] (exp-now when there is no iat); all with
//     [JWTConfig.Skew] of tolerance;
//   - "aud" is or contains [JWTConfig.Audience];
//   - the tenant, subject and roles claims are present and well formed.
//
// The "typ" header is not checked. A refused token is never partly
// trusted: no claim of it reaches a [Principal].
//
// The tenant comes only from the signed claim. The JWKS comes from a file
// or an https URL fetched with a timeout and size cap (see [JWTConfig]); a
// test serving it from an httptest TLS server passes the server's client
// as [JWTConfig.HTTPClient].
//
// # Errors
//
// Every refusal is an [*Error] with a stable code ([CodeMissing],
// [CodeInvalid], [CodeExpired], [CodeAudience], [CodeUnavailable]) and a
// public message that names only the category; which check failed is in
// [Error.Err], for the audit log.
//
// This package does not do OIDC discovery, token introspection, refresh or
// revocation lists for tokens, nor does it read HTTP headers: the transport
// extracts the bearer value and passes it to [Authenticator.Authenticate].
package auth
