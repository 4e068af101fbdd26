package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCheck asserts that Check never panics, accepts nothing json.Valid
// refuses, rejects with an *Error, refuses every document with a duplicate
// key, and that Decode agrees with Check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[true,null,"x"]}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"k":1,"\u212a":2}`))
	f.Add([]byte(`"\ud83d\ude00"`))
	f.Add(benchDoc())
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{{}, {RejectCaseVariants: true, MaxDepth: 8}} {
			err := Check(data, lim)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Code == "" {
					t.Fatalf("Check(%q) = %v, want an *Error with a code", data, err)
				}
				if e.Offset < 0 || e.Offset > int64(len(data)) {
					t.Fatalf("Check(%q) offset %d outside the input", data, e.Offset)
				}
				continue
			}
			if !json.Valid(data) {
				t.Fatalf("Check accepted %q, which json.Valid refuses", data)
			}
			if dup, found := hasDuplicateKey(data); found {
				t.Fatalf("Check accepted %q with duplicate key %q", data, dup)
			}
			if _, err := Decode(data, lim); err != nil {
				t.Fatalf("Decode(%q) = %v after Check accepted it", data, err)
			}
		}
	})
}

// hasDuplicateKey reports a key that appears twice in one object, found
// with encoding/json's tokenizer (an independent parser).
func hasDuplicateKey(data []byte) (string, bool) {
	type container struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*container
	afterValue := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			if k, ok := tok.(string); ok {
				if stack[n-1].keys[k] {
					return k, true
				}
				stack[n-1].keys[k] = true
				stack[n-1].wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &container{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &container{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			afterValue()
		default:
			afterValue()
		}
	}
}
