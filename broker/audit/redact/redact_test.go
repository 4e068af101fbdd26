package redact_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/redact"
)

var testHMACKey = bytes.Repeat([]byte{9}, audit.HMACKeySize)

func testRedactor(t testing.TB) *redact.Redactor {
	t.Helper()
	r, err := redact.New(testHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var markerRE = regexp.MustCompile(`\[REDACTED:hmac-sha256:[0-9a-f]{16}\]`)

// secretKinds are one example of each kind of secret the redactor must
// find in free text: in each, secret is the part that must never reach
// the log, inside text that gives it away.
var secretKinds = []struct {
	name, text, secret string
}{
	{"bearer token", "Authorization: Bearer Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl", "Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"},
	{"jwt", "session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c used",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
	{"rsa private key block", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----\nend",
		"MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu"},
	{"openssh private key block, unterminated", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"},
	{"aws access key id", "using AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE"},
	{"aws secret access key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	{"google api key", "GET /maps?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"},
	{"google oauth token", "token ya29.a0AfH6SMBx3k9Qz7vLmN2pRtYuWq8sDfGhJkL", "ya29.a0AfH6SMBx3k9Qz7vLmN2pRtYuWq8sDfGhJkL"},
	{"azure storage key", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=q8Zk3J5mN7pR9tV2xB4dF6hK8mQ0sU2wY4aC6eG8iK0oM2==;EndpointSuffix=core.windows.net",
		"q8Zk3J5mN7pR9tV2xB4dF6hK8mQ0sU2wY4aC6eG8iK0oM2=="},
	{"github token", "push with ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 failed", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"},
	{"gitlab token", "glpat-Xy7Zq9Wv3Ut5Sr1Po2Nm", "glpat-Xy7Zq9Wv3Ut5Sr1Po2Nm"},
	{"slack token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
	{"stripe key", "charge with sk_live_51H8qLmA2bC3dE4fG5hI6jK7", "sk_live_51H8qLmA2bC3dE4fG5hI6jK7"},
	{"openai key", "OPENAI=sk-proj-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv", "sk-proj-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv"},
	{"anthropic key", "x sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp y", "sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"},
	{"npm token", "//registry.npmjs.org/:_authToken=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"},
	{"toolwarden api key", "key tw_abcdefghijklmnop_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst", "tw_abcdefghijklmnop_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"},
	{"url password", "dial postgres://admin:Pa55w0rdXyz@db.internal:5432/app", "Pa55w0rdXyz"},
	{"password=value", "login failed: password=hunter2hunter2 user=bob", "hunter2hunter2"},
	{"json secret member in text", `upstream said {"client_secret": "c0ffee-c0ffee-c0ffee"}`, "c0ffee-c0ffee-c0ffee"},
	{"authorization basic", "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", "YWxhZGRpbjpvcGVuc2VzYW1l"},
}

func TestRedactStringSecretKinds(t *testing.T) {
	r := testRedactor(t)
	for _, tt := range secretKinds {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Text(tt.text)
			if strings.Contains(got, tt.secret) {
				t.Fatalf("RedactString(%q) = %q: the secret is still there", tt.text, got)
			}
			if !markerRE.MatchString(got) {
				t.Errorf("RedactString(%q) = %q, want a marker", tt.text, got)
			}
			if again := r.Text(got); again != got {
				t.Errorf("redacting twice changed %q to %q", got, again)
			}
		})
	}
}

func TestRedactStringLeavesPlainText(t *testing.T) {
	r := testRedactor(t)
	for _, s := range []string{
		"",
		"hello world",
		"arguments do not match the schema: /url: does not match pattern",
		"sandbox.timeout: tool ran longer than 5s",
		"fetch https://en.wikipedia.org/wiki/Go_(programming_language) failed: 404",
		"the token expired", // "token" without a value
		"basic authentication is disabled",
		"max 4096 tokens",
	} {
		if got := r.Text(s); got != s {
			t.Errorf("RedactString(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestMarkerCorrelates(t *testing.T) {
	r := testRedactor(t)
	a := r.Text("Authorization: Bearer Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl")
	args := r.Arguments(map[string]any{"token": "Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"}, nil)
	m := markerRE.FindString(a)
	if m == "" || !strings.Contains(string(args), m) {
		t.Errorf("the same secret gave %q in text and %s in arguments, want one marker", a, args)
	}
	if m != r.Marker("Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl") {
		t.Errorf("marker %q is not Marker(secret) %q", m, r.Marker("Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"))
	}
	other, err := redact.New(bytes.Repeat([]byte{1}, audit.HMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if other.Marker("x") == r.Marker("x") {
		t.Error("two keys gave the same marker")
	}
	if !redact.IsMarker(m) || redact.IsMarker(m+"x") || redact.IsMarker("[REDACTED]") {
		t.Error("IsMarker misjudges markers")
	}
}

func TestNewRedactorShortKey(t *testing.T) {
	if _, err := redact.New(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("NewRedactor(16 bytes) = %v, want an error naming the minimum", err)
	}
}

func TestRedactArguments(t *testing.T) {
	r := testRedactor(t)
	args := map[string]any{
		"text":       "hello",
		"count":      json.Number("3"),
		"max_tokens": json.Number("4096"),
		"password":   "hunter2",
		"apiKey":     "k-123",
		"X-Api-Key":  "k-456",
		"custom":     "marked-sensitive",
		"auth":       map[string]any{"user": "bob", "token": map[string]any{"v": "nested"}},
		"keys":       []any{"first-key", "second-key"},
		"headers":    map[string]any{"Authorization": "Bearer Zm9vYmFyYmF6cXV4LnRva2VuLnZhbHVl"},
		"note":       "my ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 token",
	}
	got := r.Arguments(args, []string{"/custom", "/keys/-"})
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("RedactArguments = %s: %v", got, err)
	}
	for _, leak := range []string{"hunter2", "k-123", "k-456", "marked-sensitive", "nested", "first-key", "second-key", "Zm9vYmFy", "ghp_A1b2"} {
		if strings.Contains(string(got), leak) {
			t.Errorf("RedactArguments = %s: leaks %q", got, leak)
		}
	}
	if m["text"] != "hello" || m["count"] != 3.0 || m["max_tokens"] != 4096.0 {
		t.Errorf("RedactArguments = %s: plain values changed", got)
	}
	if user := m["auth"].(map[string]any)["user"]; user != "bob" {
		t.Errorf("auth.user = %v, want bob kept", user)
	}
	if m["password"] != r.Marker("hunter2") {
		t.Errorf("password = %v, want Marker(hunter2)", m["password"])
	}
	if keys := m["keys"].([]any); len(keys) != 2 || keys[0] != r.Marker("first-key") {
		t.Errorf("keys = %v, want each element redacted", keys)
	}
	if !strings.HasPrefix(m["note"].(string), "my [REDACTED:") || !strings.HasSuffix(m["note"].(string), "] token") {
		t.Errorf("note = %q, want only the token replaced", m["note"])
	}
	if _, ok := args["password"].(string); !ok || args["password"] != "hunter2" {
		t.Error("RedactArguments modified its input")
	}
}

// TestSecretsNeverInFile appends one record per secret kind, the secret
// both in the arguments and in the error text, and checks that no byte
// sequence of any secret (raw or JSON-escaped) is anywhere in the file.
func TestSecretsNeverInFile(t *testing.T) {
	r := testRedactor(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(path, audit.Options{SigningKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i, tt := range secretKinds {
		args := map[string]any{"q": tt.text, "password": tt.secret}
		raw, _ := json.Marshal(args)
		rec := &audit.Record{Time: time.Unix(int64(i), 0), Tool: "echo", Decision: audit.DecisionAllow,
			Arguments: raw,
			Error:     "tool failed: " + tt.text,
			UserAgent: "agent/1 " + tt.text,
			Flags:     []string{tt.text},
			Egress:    []audit.Egress{{Host: tt.text, Path: "/data/" + tt.text}},
		}
		r.Record(rec, args, nil)
		if err := l.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{path, audit.CheckpointsPath(path)} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range secretKinds {
			esc, _ := json.Marshal(tt.secret)
			if bytes.Contains(b, []byte(tt.secret)) || bytes.Contains(b, esc[1:len(esc)-1]) {
				t.Errorf("%s: %s holds the secret %q", tt.name, filepath.Base(file), tt.secret)
			}
		}
	}
	if _, err := audit.Verify(path, audit.VerifyConfig{PublicKey: pub}); err != nil {
		t.Errorf("redacted log does not verify: %v", err)
	}
}

func TestRedactArgumentsRaw(t *testing.T) {
	r := testRedactor(t)
	decode := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, raw  string
		sensitive  []string
		wantRaw    bool   // the caller's bytes, compacted, are kept
		mustNotSee string // a secret that must not survive
	}{
		{name: "clean arguments keep their bytes", raw: `{ "b": [1, 2.50], "a": "x\u0041" }`, wantRaw: true},
		{name: "secret-named field", raw: `{"text":"hi","password":"hunter2"}`, mustNotSee: "hunter2"},
		{name: "schema-sensitive field", raw: `{"text":"hi","key":"abc123"}`, sensitive: []string{"/key"}, mustNotSee: "abc123"},
		{name: "secret-looking value", raw: `{"note":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"}`, mustNotSee: "eyJzdWIiOiIxIn0"},
		{name: "secret in an array", raw: `{"list":["ok","AKIAIOSFODNN7EXAMPLE"]}`, mustNotSee: "AKIAIOSFODNN7EXAMPLE"},
		{name: "sensitive nested member", raw: `{"a":{"b~/c":{"d":"s3cr3tvalue"}}}`, sensitive: []string{"/a/b~0~1c/d"}, mustNotSee: "s3cr3tvalue"},
		{name: "sensitive every element", raw: `{"keys":["k1value","k2value"]}`, sensitive: []string{"/keys/-"}, mustNotSee: "k2value"},
		{name: "sensitive one element", raw: `{"keys":["k1value","k2value"]}`, sensitive: []string{"/keys/1"}, mustNotSee: "k2value"},
		{name: "sensitive every member", raw: `{"env":{"HOME":"/root","X":"hidden1"}}`, sensitive: []string{"/env/*"}, mustNotSee: "hidden1"},
		{name: "sensitive pointer elsewhere", raw: `{"a":{"b":"visible"}}`, sensitive: []string{"/a/c", "/b", "/a/b/x"}, wantRaw: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.ArgumentsRaw([]byte(tc.raw), decode(tc.raw), tc.sensitive)
			var compact bytes.Buffer
			json.Compact(&compact, []byte(tc.raw))
			if tc.wantRaw && string(got) != compact.String() {
				t.Errorf("RedactArgumentsRaw(%s) = %s, want the caller's bytes %s", tc.raw, got, compact.String())
			}
			if tc.mustNotSee != "" && strings.Contains(string(got), tc.mustNotSee) {
				t.Errorf("RedactArgumentsRaw(%s) = %s, still holds %q", tc.raw, got, tc.mustNotSee)
			}
			if !json.Valid(got) {
				t.Errorf("RedactArgumentsRaw(%s) = %s, not JSON", tc.raw, got)
			}
		})
	}
}
