package toolwarden_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/mcpserver"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/manifests/strictjson"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/plugin/wire"
)

// inputKind is one kind of untrusted JSON and the public entry point that
// reads it. base is a document it accepts; key is a member of it whose
// name holds an 's' or a 'k', the letters encoding/json folds from 'ſ'
// (U+017F) and 'K' (U+212A).
type inputKind struct {
	name string
	base string
	key  string
	read func(t *testing.T, doc string) error
}

// TestOneReadingEverywhere holds every kind of untrusted input to the same
// rule, through the same reader: a document in which two keys of one
// object are equal under the folding encoding/json applies (a duplicate,
// an upper-case variant, an 'ſ' or 'K' variant), or in which a member
// names a known member only under that folding, is refused, whatever kind
// of input it is. Each kind is read through its public entry point.
func TestOneReadingEverywhere(t *testing.T) {
	dir := t.TempDir()
	kinds := []inputKind{
		{"JSON-RPC frame", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, "params", frameReader(t)},
		{"tool arguments", `{"tags":"a"}`, "tags", argumentsReader(t, dir)},
		{"tool manifest", toolManifest(t, dir), "description", func(t *testing.T, doc string) error {
			_, err := manifests.ParseTool([]byte(doc), filepath.Join(dir, "tool.json"))
			return err
		}},
		{"API keys file", `{"version":1,"keys":[]}`, "keys", func(t *testing.T, doc string) error {
			path := filepath.Join(t.TempDir(), "keys.json")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := auth.LoadKeys(path)
			return err
		}},
		{"JWT header", `{"alg":"EdDSA","kid":"k1","typ":"JWT"}`, "kid", jwtReader(t, dir, true)},
		{"JWT claims", `{"iss":"https://idp.test/","aud":"toolwarden","sub":"alice","tenant":"acme","roles":["analyst"],"exp":EXP}`, "sub", jwtReader(t, dir, false)},
		{"tool reply envelope", `{"result":{"rows":[1]}}`, "result", func(t *testing.T, doc string) error {
			_, err := abi.ParseEnvelope([]byte(doc))
			return err
		}},
		{"egress request", `{"url":"https://a.test/","headers":{"Accept":["*/*"]}}`, "headers", func(t *testing.T, doc string) error {
			_, err := abi.DecodeRequest([]byte(doc))
			return err
		}},
		{"egress reply", `{"response":{"status":200,"url":"https://a.test/"}}`, "status", func(t *testing.T, doc string) error {
			_, err := abi.DecodeReply([]byte(doc))
			return err
		}},
		{"audit line", auditLine(t), "subject", func(t *testing.T, doc string) error {
			_, err := audit.ParseLine([]byte(doc))
			return err
		}},
		{"plugin description", `{"protocol":1,"abi":1,"kind":"tool"}`, "kind", func(t *testing.T, doc string) error {
			var d struct {
				wire.Description
				Kind string `json:"kind"`
			}
			return strictjson.Unmarshal([]byte(doc), &d, strictjson.Limits{})
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			if err := k.read(t, k.base); err != nil {
				t.Fatalf("base document refused: %v\n%s", err, k.base)
			}
			quoted := `"` + k.key + `":`
			if !strings.Contains(k.base, quoted) {
				t.Fatalf("base lacks %s", quoted)
			}
			value := memberValue(t, k.base, k.key)
			variants := map[string]string{
				"duplicate":          `"` + k.key + `":` + value + `,` + quoted,
				"upper-case sibling": `"` + strings.ToUpper(k.key) + `":` + value + `,` + quoted,
				"upper-case alone":   `"` + strings.ToUpper(k.key) + `":`,
			}
			if f := fold(k.key); f != k.key {
				variants["long s or Kelvin sibling"] = `"` + f + `":` + value + `,` + quoted
				variants["long s or Kelvin alone"] = `"` + f + `":`
			}
			for name, repl := range variants {
				doc := strings.Replace(k.base, quoted, repl, 1)
				if err := k.read(t, doc); err == nil {
					t.Errorf("%s accepted:\n%s", name, doc)
				}
			}
		})
	}
}

// fold spells key with 'ſ' for its first 's' or 'K' for its first 'k'.
func fold(key string) string {
	if i := strings.IndexAny(key, "sk"); i >= 0 {
		r := "\u017f"
		if key[i] == 'k' {
			r = "\u212a"
		}
		return key[:i] + r + key[i+1:]
	}
	return key
}

// memberValue returns the JSON text of the first member key of doc.
func memberValue(t *testing.T, doc, key string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.ReplaceAll(doc, "EXP", "0")), &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m[key]; ok {
		return string(v)
	}
	return `"x"` // a nested key: any value will do, the keys are refused first
}

// frameReader reads a frame the way a stdio client's line is read: a
// refusal is an error reply with a frame.* or protocol.* reason.
func frameReader(t *testing.T) func(*testing.T, string) error {
	srv, err := mcpserver.New(mcpserver.Config{Core: nopCore{}, Auth: nopAuth{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return func(t *testing.T, doc string) error {
		in, out := strings.NewReader(doc+"\n"), &strings.Builder{}
		if err := srv.ServeStdio(context.Background(), in, out, auth.Principal{Tenant: "acme", Subject: "alice", Roles: []string{"analyst"}}); err != nil {
			t.Fatal(err)
		}
		var reply struct {
			Error *struct {
				Data struct{ Reason string } `json:"data"`
			} `json:"error"`
		}
		line, _ := bufio.NewReader(strings.NewReader(out.String())).ReadString('\n')
		if err := json.Unmarshal([]byte(line), &reply); err != nil {
			t.Fatalf("reply %q: %v", line, err)
		}
		if reply.Error != nil {
			return fmt.Errorf("refused: %s", reply.Error.Data.Reason)
		}
		return nil
	}
}

type nopCore struct{}

func (nopCore) ListTools(context.Context, auth.Principal) []broker.ToolInfo { return nil }
func (nopCore) CallTool(context.Context, broker.Call) (*broker.Outcome, error) {
	return nil, &broker.Error{Code: broker.CodeUnknownTool, Public: "unknown tool"}
}
func (nopCore) Refuse(context.Context, broker.Refusal) error { return nil }

type nopAuth struct{}

func (nopAuth) Authenticate(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, &auth.Error{Code: auth.CodeInvalid, Public: "no"}
}

// toolManifest writes a tool's artifact into dir and returns its manifest
// in JSON.
func toolManifest(t *testing.T, dir string) string {
	art := []byte("artifact")
	if err := os.WriteFile(filepath.Join(dir, "tags.wasm"), art, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(art)
	return `{"apiVersion":"toolwarden.dev/v1","kind":"Tool","name":"tags","version":"1.0.0","description":"Tag things.",` +
		`"runtime":{"wasm":{"module":"tags.wasm","sha256":"` + hex.EncodeToString(sum[:]) + `"}},` +
		`"inputSchema":{"type":"object","properties":{"tags":{"type":"string"}},"additionalProperties":false}}`
}

// argumentsReader decides calls of the tags tool with the policy, as the
// broker does.
func argumentsReader(t *testing.T, dir string) func(*testing.T, string) error {
	mdir := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	tool := toolManifest(t, mdir)
	role := `{"apiVersion":"toolwarden.dev/v1","kind":"Role","name":"analyst","tools":[{"name":"tags"}]}`
	for name, data := range map[string]string{"tool.json": tool, "role.json": role} {
		if err := os.WriteFile(filepath.Join(mdir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := manifests.LoadDir(mdir)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(policy.Config{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T, doc string) error {
		_, err := pol.Decide([]string{"analyst"}, "tags", []byte(doc))
		return err
	}
}

// jwtReader signs tokens whose header (or claims) are the document and
// authenticates them.
func jwtReader(t *testing.T, dir string, header bool) func(*testing.T, string) error {
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	jwks := filepath.Join(dir, fmt.Sprintf("jwks-%v.json", header))
	doc := `{"keys":[{"kty":"OKP","crv":"Ed25519","use":"sig","kid":"k1","x":"` + b64.EncodeToString(pub) + `"}]}`
	if err := os.WriteFile(jwks, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{JWT: &auth.JWTConfig{Issuer: "https://idp.test/", Audience: "toolwarden", JWKSFile: jwks},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	exp := fmt.Sprint(time.Now().Add(30 * time.Minute).Unix())
	return func(t *testing.T, doc string) error {
		hdr := `{"alg":"EdDSA","kid":"k1","typ":"JWT"}`
		claims := `{"iss":"https://idp.test/","aud":"toolwarden","sub":"alice","tenant":"acme","roles":["analyst"],"exp":EXP}`
		if header {
			hdr = doc
		} else {
			claims = doc
		}
		claims = strings.ReplaceAll(claims, "EXP", exp)
		signing := b64.EncodeToString([]byte(hdr)) + "." + b64.EncodeToString([]byte(claims))
		token := signing + "." + b64.EncodeToString(ed25519.Sign(key, []byte(signing)))
		_, err := a.Authenticate(context.Background(), token)
		return err
	}
}

// auditLine returns one canonical audit line.
func auditLine(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(path, audit.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), &audit.Record{Time: time.Unix(1, 0).UTC(), Tenant: "acme", Subject: "alice", Tool: "echo", Decision: audit.DecisionAllow}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}
