// Package manifests owns toolwarden's tool and role manifests: their types,
// strict loading, linting, artifact digests, and the compiled JSON Schemas
// that check call arguments.
//
// A tool manifest ([Tool]) is written by a tool's author and says the most
// the tool may ever need; a role manifest ([Role]) is written by a security
// team and can only narrow what tools declare. [ParseTool] and [ParseRole]
// read one manifest, [LoadDir] a directory of them into a cross-checked
// [Set], [Lint] reports what LoadDir would, and [Pin] writes an artifact's
// digest into its manifest.
//
// # Guarantees
//
//   - Decoding is strict and has one reading: YAML (one document, no
//     anchors, aliases, tags or merge keys) or JSON is turned into JSON and
//     checked by package strictjson (no duplicate or case-variant keys),
//     then matched against the Go types' JSON names exactly. Unknown
//     fields, wrong types, missing required fields and bad values are load
//     errors, never defaults.
//   - Every problem names its file and field ("tools/echo.yaml:
//     limits.timeout: "5x" is not a duration"), and loading reports all of
//     them at once ([*LoadError]).
//   - A schema keyword the validator (gojsonschema, draft-07 semantics)
//     does not enforce is a load error, never ignored: [CompileSchema]
//     accepts 2020-12 and draft-07 schemas restricted to enforced keywords
//     and annotations, refuses non-local "$ref" (nothing is ever fetched)
//     and reference loops, and enforces a "$ref"'s siblings.
//   - Descriptions and titles shown to models cannot hide characters
//     (Unicode tags, zero-width and bidirectional controls, terminal
//     escapes and other control characters).
//   - A tool whose artifact's SHA-256 differs from its manifest does not
//     load; a role never widens a tool's egress or limits, and mounts a
//     host directory (read-only) only at a path the tool declares in
//     requires.mounts.
//
// # Non-goals
//
// The package does not run tools, decide grants (package broker/policy
// intersects tools and roles). It reads
// files only in LoadDir, Lint and Pin, and never the network.
package manifests
