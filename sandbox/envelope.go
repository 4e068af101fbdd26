package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
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
func ParseEnvelope(out []byte) (Envelope, error) {
	if !utf8.Valid(out) {
		return Envelope{}, errors.New("the output is not valid UTF-8")
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return Envelope{}, errors.New("the output is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return Envelope{}, errors.New("the output is not a JSON object")
	}
	var (
		key   string
		start int64
		end   int64
		n     int
	)
	for dec.More() {
		ktok, err := dec.Token()
		if err != nil {
			return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
		}
		n++
		if n > 1 {
			return Envelope{}, errors.New("envelope has more than one member")
		}
		key, _ = ktok.(string)
		if key != "result" && key != "error" {
			return Envelope{}, fmt.Errorf("envelope member %q is neither \"result\" nor \"error\"", truncate(key, 64))
		}
		start = dec.InputOffset()
		if err := skipValue(dec, 1); err != nil {
			return Envelope{}, err
		}
		end = dec.InputOffset()
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return Envelope{}, fmt.Errorf("the output is not JSON: %w", err)
	}
	if n == 0 {
		return Envelope{}, errors.New("envelope has neither \"result\" nor \"error\"")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Envelope{}, errors.New("the output has data after the envelope object")
	}
	// The value's bytes: after the key come optional whitespace, the colon
	// and more whitespace; InputOffset points just past the value.
	raw := bytes.TrimSpace(out[start:end])
	raw = bytes.TrimSpace(bytes.TrimPrefix(raw, []byte(":")))
	if key == "error" {
		var msg string
		if err := json.Unmarshal(raw, &msg); err != nil {
			return Envelope{}, errors.New("envelope \"error\" is not a string")
		}
		return Envelope{Error: msg, IsError: true}, nil
	}
	return Envelope{Result: bytes.Clone(raw)}, nil
}

// maxDepth bounds nesting in tool output, as encoding/json does.
const maxDepth = 10000

// skipValue reads one complete JSON value from dec, rejecting duplicate
// object keys at any depth.
func skipValue(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errors.New("the output nests too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("the output is not JSON: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]struct{}{}
		for dec.More() {
			ktok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("the output is not JSON: %w", err)
			}
			k, _ := ktok.(string)
			if _, dup := seen[k]; dup {
				return fmt.Errorf("result has duplicate key %q", truncate(k, 64))
			}
			seen[k] = struct{}{}
			if err := skipValue(dec, depth+1); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for dec.More() {
			if err := skipValue(dec, depth+1); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("the output is not JSON: %w", err)
	}
	return nil
}

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

// DecodeStrict decodes one JSON object into v: unknown fields, duplicate
// or case-variant keys at the top level, duplicate keys at any depth and
// trailing data are errors. Runtimes use it for the messages of the tool
// ABI, whose every member name is fixed.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := k.(string)
		if seen[strings.ToLower(key)] {
			return fmt.Errorf("duplicate key %q", truncate(key, 64))
		}
		seen[strings.ToLower(key)] = true
		if err := skipValue(dec, 1); err != nil {
			return err
		}
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return err
	}
	if strict.More() {
		return errors.New("data after the object")
	}
	return nil
}
