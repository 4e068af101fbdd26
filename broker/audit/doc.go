// Package audit owns toolwarden's invocation log, the writing and the
// verifying of its chain: an append-only, hash-chained JSON Lines log with
// one [Record] per tool call, the group commit that makes each record
// durable before the broker replies, signed checkpoints, size-based
// rotation with the chain continuing across files, the key files, and
// [Verify], which detects edits, deletions, reordering and truncation.
//
// Two packages beside it do the rest: package redact keeps secrets out of
// a record before it is appended, and package query reads logs for review
// (filters, follow, tail, summaries, OCSF export).
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
//   - [Log.Append] writes what it is given: secrets are redacted before a
//     record reaches it (the broker does, once, with package redact).
//
// # Line format and hash chain
//
// The n-th line of the log (n from 1, counted across its files) is the
// canonical encoding of a Record with seq n, followed by "\n". The canonical encoding is what Go's
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
// the `"hash":"H"}` at the end of the line, and hashes. [Verify] also
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
// [Verify] with a public key checks the signatures and holds the chain to
// each signed head, so deleting records from the end of the log, or rewriting
// the whole chain with recomputed hashes, is detected for every record up
// to the last checkpoint; records after it are reported as unanchored.
//
// # Files and rotation
//
// The active file is the log's path. When it reaches
// [Options.RotateBytes] it is renamed to [SegmentPath](path, first seq)
// (path + "." + 20 digits) and a new active file is started; a checkpoint
// seals each rotated segment. The chain runs on across files: the first
// record of each file names the last record of the one before as its
// prev. [Verify] and the readers read [Segments](path) in order, and
// [FindLog] turns a directory into the log it holds. A crash between the
// rename and the new file leaves only segments; [Open] then continues the
// chain from the last one. Only the active file can be torn.
//
// # Keys
//
// [CreateSigningKey], [WritePublicKey] and [CreateHMACKey] (the key of
// package redact's markers) write PEM files (private ones mode 0600) and
// never overwrite one; the loaders refuse a private key file others can
// read.
//
// # What it does not do
//
// It does not redact, and does not compress, ship or expire logs.
// A hash chain alone cannot show that records were cut from the end or
// that an attacker with write access rewrote the whole file; only
// checkpoints signed with a key the attacker does not hold can, and only
// up to the last checkpoint, and only while the checkpoints themselves are
// out of the attacker's reach: export them ([ExportCheckpoints]) and
// verify against the copy.
package audit
