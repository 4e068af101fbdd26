// Package policy decides what a role may call: it computes, once at load, the
// effective [Grant] of every tool for every role, as the intersection of the
// tool manifest (the most a tool may ever need) and the role's entry (what the
// security team allows).
//
// Deny by default: a tool no role names is not visible and not callable. A
// role can only narrow a tool: argument constraints are JSON Schema fragments
// ANDed with the tool's schema, egress only a subset of the tool's, limits only
// tighter. A principal with several roles is allowed when any one role's grant
// admits the call, and the decision names that role.
//
// Package policy does not authenticate callers, rate-limit, or run tools; it
// only answers "which grants could admit this call" and "do these arguments
// satisfy this grant".
package policy
