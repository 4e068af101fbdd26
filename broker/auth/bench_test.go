package auth_test

import (
	"context"
	"testing"
)

// BenchmarkAuthenticate measures one credential check on the request path,
// with the keys file and JWKS already loaded.
func BenchmarkAuthenticate(b *testing.B) {
	a := newFuzzAuth(b)
	ctx := context.Background()
	for _, bc := range []struct{ name, bearer string }{
		{"apikey", fuzzAPIKey},
		{"jwt-eddsa", sign(b, fuzzEdKey, validClaims(fuzzNow))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(ctx, bc.bearer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
