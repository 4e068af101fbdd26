package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// checkJSON walks one JSON document and refuses the shapes encoding/json
// would silently accept: a repeated key in any object (encoding/json lets
// the last one win), trailing data after the value, and, when keyOK is not
// nil, any object key keyOK rejects. Callers that then decode into a struct
// pass a keyOK that only admits lowercase ASCII names: with every struct tag
// in lowercase ASCII too, encoding/json's case folding ("ID", "ſ", "K")
// can no longer map a foreign key onto a field.
func checkJSON(data []byte, keyOK func(string) bool) error {
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]struct{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("malformed JSON: %w", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if len(stack) == 0 {
			values++
			if values > 1 {
				return errors.New("malformed JSON: trailing data after the value")
			}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			key, ok := tok.(string)
			if !ok {
				return errors.New("malformed JSON: object key is not a string")
			}
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("duplicate key %q", key)
			}
			if keyOK != nil && !keyOK(key) {
				return fmt.Errorf("key %q not allowed", key)
			}
			top.keys[key] = struct{}{}
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]struct{}{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		default:
			if top != nil && top.object {
				top.wantKey = true
			}
		}
	}
	if values == 0 {
		return errors.New("malformed JSON: empty document")
	}
	return nil
}

// lowerASCIIKey admits object keys made only of a-z, 0-9 and '_'.
func lowerASCIIKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// decodeStrict checks data with checkJSON (lowercase ASCII keys only) and
// decodes it into v, refusing fields v does not declare.
func decodeStrict(data []byte, v any) error {
	if err := checkJSON(data, lowerASCIIKey); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// decodeObject checks data with checkJSON (no repeated keys at any depth)
// and returns its top-level members by exact name.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if err := checkJSON(data, nil); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}
