package strictjson

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// build decodes data, which Check has accepted, into the values
// encoding/json gives with UseNumber: map[string]any, []any, string,
// json.Number, bool and nil. It trusts Check for everything Check
// guarantees (one well-formed value, valid UTF-8, bounded depth); on any
// byte it does not expect it reports ok = false, and Decode falls back to
// encoding/json, so a disagreement can only cost speed, never admit input.
//
// Strings without escapes, member names and numbers are substrings of one
// copy of data, made once: a document costs one allocation for its text
// however many strings it holds.
func build(data []byte) (v any, ok bool) {
	b := builder{data: data, src: string(data)}
	b.space()
	v = b.value()
	b.space()
	if b.bad || b.i != len(b.data) {
		return nil, false
	}
	return v, true
}

type builder struct {
	data []byte
	src  string // data as a string
	i    int
	bad  bool
}

func (b *builder) space() {
	for b.i < len(b.data) {
		switch b.data[b.i] {
		case ' ', '\t', '\n', '\r':
			b.i++
		default:
			return
		}
	}
}

func (b *builder) value() any {
	if b.i >= len(b.data) {
		b.bad = true
		return nil
	}
	switch c := b.data[b.i]; {
	case c == '{':
		return b.object()
	case c == '[':
		return b.array()
	case c == '"':
		s, _ := b.str()
		return s
	case c == 't' && b.lit("true"):
		return true
	case c == 'f' && b.lit("false"):
		return false
	case c == 'n' && b.lit("null"):
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := b.i
		for b.i < len(b.data) {
			switch d := b.data[b.i]; {
			case d >= '0' && d <= '9', d == '-', d == '+', d == '.', d == 'e', d == 'E':
				b.i++
				continue
			}
			break
		}
		return json.Number(b.src[start:b.i])
	}
	b.bad = true
	return nil
}

func (b *builder) lit(word string) bool {
	if len(b.data)-b.i >= len(word) && string(b.data[b.i:b.i+len(word)]) == word {
		b.i += len(word)
		return true
	}
	return false
}

func (b *builder) object() any {
	b.i++ // {
	m := make(map[string]any)
	b.space()
	if b.i < len(b.data) && b.data[b.i] == '}' {
		b.i++
		return m
	}
	for !b.bad {
		b.space()
		if b.i >= len(b.data) || b.data[b.i] != '"' {
			b.bad = true
			return nil
		}
		k, _ := b.str()
		b.space()
		if b.i >= len(b.data) || b.data[b.i] != ':' {
			b.bad = true
			return nil
		}
		b.i++
		b.space()
		m[k] = b.value()
		b.space()
		if b.i >= len(b.data) {
			b.bad = true
			return nil
		}
		switch b.data[b.i] {
		case ',':
			b.i++
		case '}':
			b.i++
			return m
		default:
			b.bad = true
		}
	}
	return nil
}

func (b *builder) array() any {
	b.i++ // [
	a := []any{}
	b.space()
	if b.i < len(b.data) && b.data[b.i] == ']' {
		b.i++
		return a
	}
	for !b.bad {
		b.space()
		a = append(a, b.value())
		b.space()
		if b.i >= len(b.data) {
			b.bad = true
			return nil
		}
		switch b.data[b.i] {
		case ',':
			b.i++
		case ']':
			b.i++
			return a
		default:
			b.bad = true
		}
	}
	return nil
}

// str reads a string starting at its opening quote.
func (b *builder) str() (string, bool) {
	b.i++ // "
	start := b.i
	for b.i < len(b.data) {
		c := b.data[b.i]
		if c == '"' {
			s := b.src[start:b.i]
			b.i++
			return s, true
		}
		if c == '\\' {
			break
		}
		b.i++
	}
	// Escapes: build the string rune by rune.
	out := []byte(string(b.data[start:b.i]))
	for b.i < len(b.data) {
		c := b.data[b.i]
		switch {
		case c == '"':
			b.i++
			return string(out), true
		case c != '\\':
			out = append(out, c)
			b.i++
			continue
		}
		if b.i+1 >= len(b.data) {
			break
		}
		e := b.data[b.i+1]
		b.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := b.hex4()
			if !ok {
				b.bad = true
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// Check refuses lone surrogates, so a pair follows.
				if b.i+1 < len(b.data) && b.data[b.i] == '\\' && b.data[b.i+1] == 'u' {
					b.i += 2
					r2, ok := b.hex4()
					if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
						out = utf8.AppendRune(out, d)
						continue
					}
				}
				b.bad = true
				return "", false
			}
			out = utf8.AppendRune(out, r)
		default:
			b.bad = true
			return "", false
		}
	}
	b.bad = true
	return "", false
}

func (b *builder) hex4() (rune, bool) {
	if b.i+4 > len(b.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b.data[b.i:b.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	b.i += 4
	return rune(n), true
}
