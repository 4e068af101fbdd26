package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// maxPublicErrorBytes caps the tool-reported message shown to the caller.
const maxPublicErrorBytes = 1024

// Envelope is a parsed tool reply under ABI v1 (see [Result]): either
// Result holds the raw bytes of the "result" value, or IsError is set and
// Error holds the tool's message.
type Envelope struct {
	Result  []byte
	Error   string
	IsError bool
}

// ParseEnvelope parses the output under tool ABI v1: exactly one JSON object,
// optionally surrounded by whitespace, valid UTF-8, with exactly one member,
// "result" (any value) or "error" (a string), and no duplicate keys at any
// depth, so every later reader of the result sees the same object.
//
// The output is checked in one pass by strictjson (about 250 MB/s, no
// allocation), then its single member is located in the checked bytes.
func ParseEnvelope(out []byte) (Envelope, error) {
	if !utf8.Valid(out) {
		return Envelope{}, errors.New("the output is not valid UTF-8")
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return Envelope{}, errors.New("the output is empty")
	}
	if err := strictjson.Check(out, strictjson.Limits{MaxBytes: len(out), MaxDepth: maxDepth}); err != nil {
		if se, ok := errors.AsType[*strictjson.Error](err); ok && se.Code == strictjson.CodeDuplicateKey {
			return Envelope{}, fmt.Errorf("result has a duplicate key: %w", err)
		}
		return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
	}
	// out is one well-formed JSON value from here on.
	i := skipSpace(out, 0)
	if out[i] != '{' {
		return Envelope{}, errors.New("the output is not a JSON object")
	}
	i = skipSpace(out, i+1)
	if out[i] == '}' {
		return Envelope{}, errors.New("envelope has neither \"result\" nor \"error\"")
	}
	keyEnd := strictjson.SkipValue(out, i)
	var key string
	if err := json.Unmarshal(out[i:keyEnd], &key); err != nil {
		return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
	}
	if key != "result" && key != "error" {
		return Envelope{}, fmt.Errorf("envelope member %q is neither \"result\" nor \"error\"", truncate(key, 64))
	}
	start := skipSpace(out, skipSpace(out, keyEnd)+1) // past the colon
	end := strictjson.SkipValue(out, start)
	if after := skipSpace(out, end); out[after] != '}' {
		return Envelope{}, errors.New("envelope has more than one member")
	}
	raw := out[start:end]
	if key == "error" {
		var msg string
		if err := json.Unmarshal(raw, &msg); err != nil {
			return Envelope{}, errors.New("envelope \"error\" is not a string")
		}
		return Envelope{Error: msg, IsError: true}, nil
	}
	return Envelope{Result: bytes.Clone(raw)}, nil
}

// skipSpace returns the index of the first non-whitespace byte of b at or
// after i, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// maxDepth bounds nesting in tool output, as encoding/json does.
const maxDepth = 10000

// PublicMessage makes a tool's error message safe to show: control and
// bidirectional-formatting characters are dropped (line breaks and tabs
// become spaces), the text is trimmed and capped at maxPublicErrorBytes on a
// rune boundary.
func PublicMessage(msg string) string {
	var b strings.Builder
	for _, r := range msg {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == utf8.RuneError:
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxPublicErrorBytes {
			break
		}
		b.WriteRune(r)
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if s == "" {
		return "the tool reported an error"
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
