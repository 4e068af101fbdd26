package plugin

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

// envelope is a parsed tool reply: exactly one of result (the raw bytes of
// the value) or errMsg is set.
type envelope struct {
	result  []byte
	errMsg  string
	isError bool
}

// parseEnvelope parses an Invoke reply under tool ABI v1: exactly one JSON object,
// optionally surrounded by whitespace, valid UTF-8, with exactly one member,
// "result" (any value) or "error" (a string), and no duplicate keys at any
// depth, so every later reader of the result sees the same object.
func parseEnvelope(out []byte) (envelope, error) {
	if !utf8.Valid(out) {
		return envelope{}, errors.New("the reply is not valid UTF-8")
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return envelope{}, errors.New("the reply is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return envelope{}, fmt.Errorf("the reply is not JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return envelope{}, errors.New("the reply is not a JSON object")
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
			return envelope{}, fmt.Errorf("the reply is not JSON: %w", err)
		}
		n++
		if n > 1 {
			return envelope{}, errors.New("envelope has more than one member")
		}
		key, _ = ktok.(string)
		if key != "result" && key != "error" {
			return envelope{}, fmt.Errorf("envelope member %q is neither \"result\" nor \"error\"", truncate(key, 64))
		}
		start = dec.InputOffset()
		if err := skipValue(dec, 1); err != nil {
			return envelope{}, err
		}
		end = dec.InputOffset()
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return envelope{}, fmt.Errorf("the reply is not JSON: %w", err)
	}
	if n == 0 {
		return envelope{}, errors.New("envelope has neither \"result\" nor \"error\"")
	}
	if _, err := dec.Token(); err != io.EOF {
		return envelope{}, errors.New("the reply has data after the envelope object")
	}
	// The value's bytes: after the key come optional whitespace, the colon
	// and more whitespace; InputOffset points just past the value.
	raw := bytes.TrimSpace(out[start:end])
	raw = bytes.TrimSpace(bytes.TrimPrefix(raw, []byte(":")))
	if key == "error" {
		var msg string
		if err := json.Unmarshal(raw, &msg); err != nil {
			return envelope{}, errors.New("envelope \"error\" is not a string")
		}
		return envelope{errMsg: msg, isError: true}, nil
	}
	return envelope{result: bytes.Clone(raw)}, nil
}

// maxDepth bounds nesting in tool output, as encoding/json does.
const maxDepth = 10000

// skipValue reads one complete JSON value from dec, rejecting duplicate
// object keys at any depth.
func skipValue(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errors.New("the reply nests too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("the reply is not JSON: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]struct{}{}
		for dec.More() {
			ktok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("the reply is not JSON: %w", err)
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
		return fmt.Errorf("the reply is not JSON: %w", err)
	}
	return nil
}

// publicMessage makes a tool's error message safe to show: control and
// bidirectional-formatting characters are dropped (line breaks and tabs
// become spaces), the text is trimmed and capped at maxPublicErrorBytes on a
// rune boundary.
func publicMessage(msg string) string {
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
