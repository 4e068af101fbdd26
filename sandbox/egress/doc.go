// Package egress decides which network destinations a tool call may reach,
// and reaches them. It is shared by every runtime: the wasm host function
// and the plugin egress proxy both go through it, so a grant means the same
// thing everywhere.
//
// It owns:
//   - the allowlist ([ParseAllowlist], [Allowlist]): "[scheme://]host:port"
//     patterns with exact names, "*.example.com" wildcards (one or more
//     labels under example.com, never example.com itself), IP addresses and
//     CIDRs;
//   - the URL check ([Check]): userinfo refused, http and https only, one
//     normalised [Target] (lower case, no trailing dot, IDNA/punycode via
//     the idna.Lookup profile, every inet_aton IPv4 form read as the
//     address it means, IPv4-mapped and -compatible IPv6 unwrapped, IPv6
//     zones refused);
//   - the address rules ([Classify], [Allowlist.CheckAddr]): loopback,
//     RFC 1918, link-local (169.254.0.0/16 with the cloud metadata
//     endpoint, fe80::/10), CGNAT, unique-local, multicast, unspecified,
//     broadcast, 0.0.0.0/8, documentation, benchmarking and reserved
//     ranges, and IPv6 forms that carry such an IPv4 address (mapped,
//     compatible, translated, NAT64 64:ff9b::/96, 6to4, Teredo), are
//     refused unless the grant names the address by IP or CIDR;
//   - the dialer ([Dialer]) and the HTTP client ([Client]): per-call caps
//     on requests, request bytes, response bytes, time and redirects, and
//     a record of every attempt ([Attempt]).
//
// # Guarantees
//
// The host that is checked is the host that is connected to: [Check]
// produces one normalised [Target], and the allowlist, the resolver, the
// dial, the Host header and TLS server name all use it. A name is resolved
// once per hop; every address in the answer is checked, and the
// connection goes to one of those checked addresses, never to the name
// again, so a second DNS answer (rebinding) is never used. A socket-level
// hook verifies the address handed to the kernel is the checked one.
// Redirects are followed by the client itself, at most Config.MaxRedirects
// times, and each hop is checked from scratch. No proxy from the
// environment is ever used, connections are not reused, and responses are
// not transparently decompressed, so the byte caps count real bytes.
//
// # Why refuse a whole answer when one address is forbidden?
//
// Dialling only the public addresses of a mixed answer would be safe for
// that connection, but a name whose answer contains a private or metadata
// address is either an attack (rebinding, a record planted to reach the
// inside) or a misconfiguration, and both deserve a visible refusal with
// its reason in the audit log, not a request that works or fails depending
// on address order. Refusing also keeps the decision a function of the
// answer alone, independent of which address happened to accept first, and
// leaves nothing for other code that might reuse the name (TLS, cookies,
// the tool itself) to get wrong.
//
// # What it does not do
//
// It does not decide what a call is granted (broker/policy intersects tool
// and role manifests into the patterns given here), does not cache DNS, and
// does not speak HTTP/2 or anything but HTTP/1.1 over TCP (with TLS for
// https). Errors are *sandbox.Error values with egress.* reason codes; the
// runtime decides how they reach the tool and the audit log.
//
// # ABI v1
//
// [Request] and [Response] are the JSON shape the wasm host function and
// the plugin proxy exchange with tools; their field names and meanings are
// fixed for v1. Decoding that JSON strictly (no duplicate or case-variant
// keys) is the runtime's job.
package egress
