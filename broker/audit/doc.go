// Package audit owns toolwarden's invocation log: an append-only,
// hash-chained JSON Lines file with one [Record] per tool call, the group
// commit that makes each record durable before the broker replies, signed
// checkpoints, and the verifier that detects edits, deletions, reordering
// and truncation.
//
// # Guarantees
//
//   - [Log.Append] returns nil only after the record is written and
//     fsynced. Concurrent Appends share one write and one fsync (group
//     commit). If a write or sync fails, that Append and every later one
//     fails with [CodeUnavailable]: the log fails closed and never reports
//     a record durable that may not be.
//   - One record is always exactly one line: every string is JSON-escaped,
//     including control characters, DEL, the C1 controls U+0080–U+009F
//     and U+2028/U+2029, so newlines and terminal escapes in tool
//     arguments or error text cannot split a line or reach a terminal raw.
//   - [Open] never extends a log that fails verification (unless
//     [Options.AllowBroken]); a torn last line left by a crash is saved
//     aside, truncated away and logged as torn, not as tampering.
//   - [Verify] reports the first bad line and what is wrong with it, and
//     never panics, whatever its input.
//
// # Line format and hash chain
//
// Line n of the log (n from 1) is the canonical encoding of a Record with
// seq n, followed by "\n". The canonical encoding is what Go's
// encoding/json Marshal writes for [Record] (fields in declaration order,
// empty omitempty fields left out, <, > and & written as \u003c, \u003e,
// \u0026), with, in addition, DEL, U+0080–U+009F, U+2028 and U+2029
// written as lower-case \u00XX or \u20XX escapes, and U+FFFD and any byte
// that is not valid UTF-8 written as \ufffd. So a line is ASCII plus valid
// UTF-8, holds no control character, starts with {"seq":n, and ends with
// "prev":"P","hash":"H"}.
//
// P is the hash of line n-1 ("" for line 1). H is the lower-case hex
// SHA-256 of
//
//	P + "\n" + (the line without its newline, with H removed)
//
// that is, of the previous hash, a newline, and the canonical encoding of
// the record with "hash":"". An outside verifier needs no JSON encoder:
// for each line it checks seq and prev, cuts the 64 hex digits of H out of
// the `"hash":"H"}` at the end of the line, and hashes. Go's [Verify] also
// re-encodes each decoded record and requires the line to be
// byte-identical, so re-keyed fields ("Tool" for "tool"), duplicate keys,
// escapes spelt differently and added whitespace are all reported as
// edits even where another JSON reader would accept them.
//
// # Checkpoints
//
// With [Options.SigningKey] set, the log writes signed checkpoints to
// [CheckpointsPath](path), after every [Options.CheckpointEvery] durable
// records, at most [Options.CheckpointInterval] after a record becomes
// durable, and at Close. Each is one JSON line
//
//	{"origin":O,"count":N,"head":H,"time":T,"key_id":K,"sig":S}
//
// where N is the seq of the last record covered, H its hash, T an RFC 3339
// UTC time, K the hex of the first 8 bytes of the SHA-256 of the ed25519
// public key, and S the base64 (standard, padded) ed25519 signature of the
// text
//
//	"toolwarden audit checkpoint v1\norigin " + O + "\ncount " + N +
//	"\nhead " + H + "\ntime " + T + "\n"
//
// with N in decimal and T formatted as Go's time.RFC3339Nano in UTC.
// [VerifyAnchored] checks the signatures and holds the chain to each
// signed head, so deleting records from the end of the log, or rewriting
// the whole chain with recomputed hashes, is detected for every record up
// to the last checkpoint; records after it are reported as unanchored.
//
// # What it does not do
//
// The package hashes and stores what it is given: redacting secrets is
// the broker's job, before [Log.Append]. It does not rotate, compress or
// ship logs, and it does not query them. A hash chain alone cannot show
// that records were cut from the end or that an attacker with write
// access rewrote the whole file; only checkpoints signed with a key the
// attacker does not hold can, and only up to the last checkpoint.
package audit
