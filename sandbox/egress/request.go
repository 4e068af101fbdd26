package egress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// requestKeys are the members of an egress ABI v1 request.
var requestKeys = map[string]bool{"method": true, "url": true, "headers": true, "body": true}

// DecodeRequest decodes one egress ABI v1 request strictly: one JSON
// object with exactly the member names of [Request] (case
// sensitive), each at most once, no duplicate names in "headers", valid
// UTF-8, nothing after the object. Its messages are safe to show the tool.
func DecodeRequest(data []byte) (Request, error) {
	if err := checkRequestKeys(data); err != nil {
		return Request{}, err
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("the request is not valid: %s", jsonProblem(err))
	}
	return req, nil
}

// checkRequestKeys walks the request's top level and its "headers" object.
func checkRequestKeys(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("the request is not valid UTF-8")
	}
	if !json.Valid(data) {
		return errors.New("the request is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return errors.New("the request is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.New("the request is not valid JSON")
		}
		key, _ := tok.(string)
		if !requestKeys[key] {
			return fmt.Errorf("the request has an unknown member %q", truncate(key, 64))
		}
		if seen[key] {
			return fmt.Errorf("the request has member %q twice", key)
		}
		seen[key] = true
		if key != "headers" {
			if err := skipValue(dec, 1); err != nil {
				return errors.New("the request is not valid JSON")
			}
			continue
		}
		if err := checkHeaderKeys(dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return errors.New("the request is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the request has data after the object")
	}
	return nil
}

// checkHeaderKeys reads the "headers" value and refuses a name given twice.
func checkHeaderKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return errors.New("the request is not valid JSON")
	}
	if tok != json.Delim('{') {
		if d, ok := tok.(json.Delim); ok && d == '[' {
			return errors.New(`the request's "headers" is not an object`)
		}
		return nil // null, or a scalar the decoder refuses with its type
	}
	seen := map[string]bool{}
	for dec.More() {
		ktok, err := dec.Token()
		if err != nil {
			return errors.New("the request is not valid JSON")
		}
		// Header names are case-insensitive: "A" and "a" are one header
		// given twice, and which value wins would be up to the transport.
		name, _ := ktok.(string)
		if seen[strings.ToLower(name)] {
			return fmt.Errorf("the request has header %q twice", truncate(name, 64))
		}
		seen[strings.ToLower(name)] = true
		if err := skipValue(dec, 1); err != nil {
			return errors.New("the request is not valid JSON")
		}
	}
	_, err = dec.Token()
	return err
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("member %q has the wrong type (%s)", te.Field, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON"
	}
	return truncate(err.Error(), 128)
}

// maxDepth bounds nesting in a request, as encoding/json does.
const maxDepth = 10000

// skipValue reads one complete JSON value from dec, rejecting duplicate
// object keys at any depth.
func skipValue(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errors.New("the request nests too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("the request is not JSON: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]struct{}{}
		for dec.More() {
			ktok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("the request is not JSON: %w", err)
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
		return fmt.Errorf("the request is not JSON: %w", err)
	}
	return nil
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
