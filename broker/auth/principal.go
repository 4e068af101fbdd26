package auth

import "time"

// Principal is an authenticated caller. Tenant always comes from a stored
// API key or a signed token claim, never from an unsigned header.
type Principal struct {
	Tenant  string
	Subject string
	Roles   []string
	// Method is how the principal was authenticated: "apikey", "jwt" or
	// "cli" (a trusted local operator using `toolwarden call`).
	Method string
	// Audience is the token audience the credential was checked against
	// ("" for API keys).
	Audience string
	// KeyID identifies the credential (API key id or JWT "jti"/"kid"),
	// never the secret itself.
	KeyID string
	// Expires is when the credential stops being valid (zero: never).
	Expires time.Time
}
