// Package screen is the output stage of the broker: it screens a tool's
// result before it leaves, whatever runtime produced it. Secrets the
// broker injected into the call, and strings shaped like secrets (the
// audit redaction's detectors), are cut out and replaced with redaction
// markers; prompt-injection markers (instruction-override phrases,
// chat-template role tokens, hidden Unicode, terminal escapes) are
// flagged, stripped or blocked as the role says; URLs are removed if the
// role asks.
//
// # Guarantees
//
//   - A result with nothing to screen is returned byte for byte, after one
//     scan of its bytes.
//   - A value of a secret the broker injected never leaves in a result,
//     raw or JSON-escaped.
//
// # What it does not do
//
// It reads text, not meaning: an injection written in plain words it does
// not know, or a secret the tool re-encodes (base64, split across
// values), passes. It never acts on a result, and it does not cap sizes
// (the runtimes do).
package screen
