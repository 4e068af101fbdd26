package auth_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// ExampleAddKey creates an API key, as `toolwarden keys add` does, and
// authenticates with it, as the broker does for each request.
func ExampleAddKey() {
	dir, err := os.MkdirTemp("", "keys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keys.json")

	key, err := auth.AddKey(path, auth.NewKey{Tenant: "acme", Subject: "ci-bot", Roles: []string{"analyst"}})
	if err != nil {
		log.Fatal(err)
	}
	// key is shown once; the file keeps only its SHA-256.

	a, err := auth.New(auth.Config{KeysFile: path})
	if err != nil {
		log.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Tenant, p.Subject, p.Roles, p.Method)

	// A well-formed key that was never issued is refused without saying why.
	_, err = a.Authenticate(context.Background(), "tw_aaaaaaaaaaaaaaaa_"+strings.Repeat("a", 52))
	fmt.Println(err)
	// Output:
	// acme ci-bot [analyst] apikey
	// auth.invalid: credential not accepted
}
