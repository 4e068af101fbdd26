package abi

import (
	"strings"
	"testing"
)

// BenchmarkParseEnvelope1MiB parses a 1 MiB result, the size of a large
// tool reply.
func BenchmarkParseEnvelope1MiB(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"result":{"rows":[`)
	for sb.Len() < 1<<20 {
		sb.WriteString(`{"id":12345,"name":"some customer name","email":"x@example.com"},`)
	}
	sb.WriteString(`{}]}}`)
	out := []byte(sb.String())
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEnvelope(out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEnvelopeSmall parses a typical small reply.
func BenchmarkParseEnvelopeSmall(b *testing.B) {
	out := []byte(`{"result":{"text":"hello"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEnvelope(out); err != nil {
			b.Fatal(err)
		}
	}
}
