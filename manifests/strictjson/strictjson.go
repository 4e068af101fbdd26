package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Defaults for a zero [Limits] field.
const (
	DefaultMaxBytes = 1 << 20 // 1 MiB
	DefaultMaxDepth = 64
)

// Reason codes of an [*Error].
const (
	CodeSyntax         = "json.syntax"           // not JSON
	CodeUTF8           = "json.utf8"             // invalid UTF-8, raw or as an escaped lone surrogate
	CodeDuplicateKey   = "json.duplicate_key"    // two keys of one object equal after unescaping
	CodeCaseVariantKey = "json.case_variant_key" // two keys of one object equal under strings.EqualFold
	CodeTooDeep        = "json.too_deep"         // nested deeper than Limits.MaxDepth
	CodeTooLarge       = "json.too_large"        // longer than Limits.MaxBytes
	CodeTrailing       = "json.trailing"         // data after the value
)

const (
	maxKeyInMessage     = 64 // bytes of a key quoted in an error message
	linearKeyComparison = 16 // objects with more keys than this are checked with a map
)

// Limits bounds what [Check], [Decode] and [Unmarshal] accept.
//
// # Notes
//
// The zero value is usable: a field that is zero or negative takes its
// documented default. Zero never means "unlimited".
type Limits struct {
	// MaxBytes caps the document's length in bytes, surrounding whitespace
	// included. Zero means DefaultMaxBytes (1 MiB).
	MaxBytes int
	// MaxDepth caps nesting: a scalar is depth 0, "{}" and "[]" depth 1,
	// "[[]]" depth 2. Zero means DefaultMaxDepth (64).
	MaxDepth int
	// RejectCaseVariants refuses an object with two keys equal under
	// strings.EqualFold ("id" and "ID", "s" and "ſ", "k" and "K"), the keys
	// encoding/json would map onto the same struct field. False allows them
	// (they are still distinct keys, and exact duplicates are always
	// refused).
	RejectCaseVariants bool
	// AllowUnknownFields, for [Unmarshal] only, skips an object member that
	// names no field of its struct instead of refusing it. A member that
	// names a field only under case folding is refused all the same: it is
	// the member encoding/json would have read into that field.
	AllowUnknownFields bool
	// Unchecked is a JSON pointer ("/params/arguments") to a value whose
	// objects' keys are not compared: duplicates and case variants below it
	// are left to whoever reads that value (it still must be well formed,
	// valid UTF-8 and within the limits). Only members of objects can be
	// named, not array elements. "" checks every object.
	Unchecked string
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Error is a rejection by [Check] or [Decode].
type Error struct {
	Code   string // one of the Code constants, e.g. CodeDuplicateKey
	Offset int64  // byte offset of the offending input
	Path   string // JSON pointer (RFC 6901) of the value or object concerned; "" is the root
	Msg    string // what is wrong, without the path and offset
}

// Error returns the message with its location, e.g.
// `duplicate key "a" at /x/y (offset 17)`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	b.WriteString(" (offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	b.WriteString(")")
	return b.String()
}

// ReasonCode returns the stable reason code, e.g. "json.duplicate_key".
func (e *Error) ReasonCode() string { return e.Code }

// Check validates that data is exactly one strict JSON value within lim.
// It returns nil or an [*Error].
//
// # Notes
//
// Check is safe for concurrent use. It does not retain data.
func Check(data []byte, lim Limits) error {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return &Error{
			Code:   CodeTooLarge,
			Offset: int64(lim.MaxBytes),
			Msg:    fmt.Sprintf("document is %d bytes, more than the limit of %d", len(data), lim.MaxBytes),
		}
	}
	s := getScanner(data, lim)
	err := s.run()
	putScanner(s)
	return err
}

// Decode checks data with [Check] and returns its value as encoding/json
// would decode it into an any, except that numbers are [json.Number] (their
// text, never a float64): map[string]any, []any, string, json.Number, bool
// or nil.
//
// # Notes
//
// Because Check has refused duplicate keys, the returned maps hold every
// member of every object.
func Decode(data []byte, lim Limits) (any, error) {
	if err := Check(data, lim); err != nil {
		return nil, err
	}
	if v, ok := build(data); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Unreachable for data Check accepted; kept so that a disagreement
		// between the two parsers fails closed.
		return nil, &Error{Code: CodeSyntax, Offset: dec.InputOffset(), Msg: "decode: " + err.Error()}
	}
	return v, nil
}

// PointerToken returns key as one JSON pointer (RFC 6901) reference token:
// "~" and "/" escaped as "~0" and "~1".
func PointerToken(key string) string {
	if !strings.ContainsAny(key, "~/") {
		return key
	}
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
