// Package strictjson checks that a JSON document has exactly one reading.
//
// Go's encoding/json is lenient in ways that let two parsers disagree about
// one document: it matches object keys to struct fields case-insensitively
// (folding "ſ" onto "s" and the Kelvin sign "K" onto "k"), lets the last of
// two duplicate keys win, and replaces invalid UTF-8 with U+FFFD. When a
// policy reads one view of a request and a sandbox another, a caller can get
// past the policy. Every untrusted JSON input of toolwarden (tool arguments,
// JSON-RPC frames, manifests) goes through [Check] or [Decode] first.
//
// # Guarantees
//
// A document [Check] accepts is exactly one JSON value (RFC 8259) with
// optional surrounding whitespace, valid UTF-8 throughout (no lone
// surrogates, raw or escaped), no object with two keys that are equal after
// unescaping, optionally no object with two keys equal under
// [strings.EqualFold] (case variants), nested at most [Limits.MaxDepth]
// deep and at most [Limits.MaxBytes] long. Everything it accepts,
// [encoding/json.Valid] accepts too. Rejections are [*Error] values with a
// stable code, a byte offset and a JSON pointer.
//
// [Check] is a single pass over the bytes with no recursion and, for objects
// of up to 16 keys, no allocation beyond a small reusable stack; it is on the
// path of every call.
//
// # Non-goals
//
// The package does not decode into structs and does not validate against a
// schema: [Decode] returns the generic value (with [encoding/json.Number]
// numbers, never float64) and schema checks live in package manifests.
package strictjson
