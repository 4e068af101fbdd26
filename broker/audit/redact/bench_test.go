package redact_test

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkRedactString measures the secret scan of one typical error
// message that holds a token.
func BenchmarkRedactString(b *testing.B) {
	red := testRedactor(b)
	const s = "upstream returned 401 for https://en.wikipedia.org/wiki/Go with token=abc123abc123 (request id 7f3a)"
	for b.Loop() {
		red.Text(s)
	}
}

// BenchmarkRedactStringPlain measures the secret scan of a string with no
// secret, the common case.
func BenchmarkRedactStringPlain(b *testing.B) {
	red := testRedactor(b)
	const s = "arguments do not match the schema: /url: does not match pattern ^https://en\\.wikipedia\\.org/"
	for b.Loop() {
		red.Text(s)
	}
}

// BenchmarkRedactArgumentsRaw measures the redaction check of typical
// arguments that need no redaction: the common case of every call.
func BenchmarkRedactArgumentsRaw(b *testing.B) {
	red := testRedactor(b)
	raw := []byte(`{"text":"hello, this is a typical short argument","count":3}`)
	var args any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&args); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		red.ArgumentsRaw(raw, args, nil)
	}
}
