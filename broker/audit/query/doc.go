// Package query reads an audit log for the people who review it: [Records]
// filters it, [Follow] and [Tail] watch it, [Summarize] counts it, and
// [OCSF] exports records as OCSF API Activity events for a SIEM.
//
// # Guarantees
//
//   - Readers never write: they open segments read-only and never take
//     the writer's lock, so they run beside a live broker.
//   - Each line is decoded strictly ([audit.ParseLine]); a torn or
//     malformed line is reported with its file and line (a
//     *[audit.VerifyError] of kind malformed), never skipped in silence.
//   - Output lines ([OCSF]) are escaped as the log's own lines are, so a
//     terminal or a line-oriented shipper never meets a raw control
//     character, U+2028 or U+2029.
//
// # What it does not do
//
// It does not verify the hash chain or the signed checkpoints
// ([audit.Verify] does), so a line edited into a non-canonical form (keys
// re-cased or reordered) may be missed by the fast field scan that
// filters lines before they are decoded; it does not write, rotate or
// expire logs.
package query
