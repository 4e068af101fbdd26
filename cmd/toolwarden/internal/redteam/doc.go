// Package redteam replays a corpus of adversarial MCP exchanges against a
// broker it starts from a config (a private copy: its own keys, audit log
// and canary values for every secret) over Streamable HTTP and stdio, and
// judges each: refused with the expected reason code, contained, flagged,
// nothing leaked (no canary secret, no /etc/passwd line in any reply or
// in the audit log), the broker still serving. At the end it stops the
// broker and checks that the audit log verifies and records every refusal
// the corpus caused, one by one or summed up in floods.
//
// The case format is documented on [Case]; examples/redteam holds the
// project's own corpus.
package redteam
