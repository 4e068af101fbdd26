// Package redact keeps secrets out of the audit log. A [Redactor] holds a
// log key (audit.CreateHMACKey writes one) and replaces each secret with
// "[REDACTED:hmac-sha256:H]", H the first 16 hex digits of the HMAC-SHA256
// of the secret under the key: the same secret gives the same marker, so
// it can be correlated across records without being stored.
//
// [Redactor.Record] is the one place a record is redacted, just before the
// broker appends it: the values of arguments a tool's schema marks
// sensitive and of secret-named members ([Redactor.ArgumentsRaw]), and
// secret-looking substrings ([Redactor.Text]: bearer tokens, JWTs, PEM
// private key blocks, cloud access keys, common API key formats, URL
// passwords, name=value pairs) of every string a client or a tool controls.
//
// # Guarantees
//
//   - Arguments with nothing to redact keep their exact bytes (compacted),
//     so the log holds what the caller sent.
//   - Markers pass through unchanged: redacting twice changes nothing.
//   - A Redactor is immutable after New and safe for concurrent use.
//
// # What it does not do
//
// It finds secrets by where they are (schema marks, member names) and by
// their shape: a secret with neither (a bare password in free text)
// passes. It does not hash records or write them (package audit does).
package redact
