package plugin

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeEgressRequest: the proxy's decoder never panics, and what it
// accepts re-encodes to a request it accepts again, unchanged.
func FuzzDecodeEgressRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeEgressRequest(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode accepted request: %v", err)
		}
		req2, err := decodeEgressRequest(again)
		if err != nil {
			t.Fatalf("decode(encode(%q)) error = %v", data, err)
		}
		if a, b := mustJSON(t, req), mustJSON(t, req2); a != b {
			t.Errorf("round trip changed the request: %s → %s", a, b)
		}
	})
}

// FuzzParseEnvelope: the reply parser never panics, and an accepted result
// is valid JSON that parses again as the same envelope.
func FuzzParseEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := parseEnvelope(data)
		if err != nil || env.isError {
			return
		}
		if !json.Valid(env.result) {
			t.Fatalf("accepted result %q is not valid JSON", env.result)
		}
		again, err := parseEnvelope(append(append([]byte(`{"result":`), env.result...), '}'))
		if err != nil || string(again.result) != string(env.result) {
			t.Errorf("re-parse of result %q = %q, %v", env.result, again.result, err)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
