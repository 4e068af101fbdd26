package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxPatternBytes bounds one allowlist pattern.
const maxPatternBytes = 1024

// Allowlist is a parsed set of egress grants. Build one with
// [ParseAllowlist].
//
// # Notes
//
// A nil or empty Allowlist allows nothing. An Allowlist is immutable and
// safe for concurrent use.
type Allowlist struct {
	rules []rule
}

type ruleKind uint8

const (
	kindName     ruleKind = iota // exact host name
	kindWildcard                 // one or more labels under host
	kindPrefix                   // IP address or CIDR
)

type rule struct {
	scheme string
	port   int
	kind   ruleKind
	host   string       // kindName: the name; kindWildcard: the base, without "*."
	prefix netip.Prefix // kindPrefix
}

// ParseAllowlist parses egress patterns of the form [scheme://]host:port.
//
//   - scheme is "https" unless the pattern says "http://" (or "https://");
//     no other scheme is accepted, and a grant for one scheme never allows
//     the other.
//   - port is required, 1-65535.
//   - host is a DNS name ("api.example.com", "bücher.example", normalised
//     like a URL host: lower case, no trailing dot, punycode), a wildcard
//     "*.example.com", an IP address ("127.0.0.1", "[::1]") or a CIDR
//     ("127.0.0.1/32", "10.0.0.0/8", "[fd00::/8]").
//
// "*.example.com" matches a name with one or more labels before
// ".example.com" ("a.example.com", "a.b.example.com") and never
// "example.com" itself: grant both to allow both. A wildcard must be the
// whole leftmost label and cannot stand over a single label ("*.com" is an
// error). Names never match IP addresses and wildcards never match IPs.
//
// An IP or CIDR pattern is the only way a grant can name a loopback,
// private, link-local or other non-public destination (see [Classify]);
// such an address is refused under any name pattern. IP patterns are
// written in canonical form: dotted-decimal IPv4 (not "127.1" or
// "0x7f000001"), bracketed IPv6 without zone, not IPv4-mapped, a CIDR with
// no host bits set, and never /0.
func ParseAllowlist(patterns []string) (*Allowlist, error) {
	a := &Allowlist{rules: make([]rule, 0, len(patterns))}
	for _, p := range patterns {
		r, err := parseRule(p)
		if err != nil {
			return nil, fmt.Errorf("egress: pattern %q: %w", recordHost(p), err)
		}
		a.rules = append(a.rules, r)
	}
	return a, nil
}

func parseRule(p string) (rule, error) {
	if len(p) > maxPatternBytes {
		return rule{}, fmt.Errorf("longer than %d bytes", maxPatternBytes)
	}
	r := rule{scheme: "https"}
	rest := p
	if scheme, after, ok := strings.Cut(p, "://"); ok {
		switch strings.ToLower(scheme) {
		case "http", "https":
			r.scheme = strings.ToLower(scheme)
		default:
			return rule{}, fmt.Errorf("scheme %q is not http or https", scheme)
		}
		rest = after
	}
	var host, port string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return rule{}, errors.New("unterminated '['")
		}
		host, port = rest[:end+1], rest[end+1:]
		if !strings.HasPrefix(port, ":") {
			return rule{}, errors.New("want [ipv6]:port")
		}
		port = port[1:]
	} else {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return rule{}, errors.New("missing :port")
		}
		host, port = rest[:i], rest[i+1:]
		if strings.IndexByte(host, ':') >= 0 {
			return rule{}, errors.New("IPv6 addresses must be bracketed: [::1]:443")
		}
	}
	n, err := parsePort(port)
	if err != nil {
		return rule{}, err
	}
	r.port = n
	if err := r.setHost(host); err != nil {
		return rule{}, err
	}
	return r, nil
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("port %q is not in 1-65535", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("port %q is not in 1-65535", s)
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not in 1-65535", s)
	}
	return n, nil
}

func (r *rule) setHost(host string) error {
	bracketed := strings.HasPrefix(host, "[")
	inner := host
	if bracketed {
		inner = host[1 : len(host)-1]
	}
	switch {
	case host == "":
		return errors.New("empty host")
	case strings.Contains(inner, "/"):
		pfx, err := netip.ParsePrefix(inner)
		if err != nil {
			return fmt.Errorf("invalid CIDR: %w", err)
		}
		if err := checkPatternAddr(pfx.Addr(), bracketed); err != nil {
			return err
		}
		if pfx != pfx.Masked() {
			return fmt.Errorf("CIDR %s has host bits set (did you mean %s?)", pfx, pfx.Masked())
		}
		if pfx.Bits() == 0 {
			return errors.New("a /0 CIDR matches every address; name the ranges you mean")
		}
		r.kind, r.prefix = kindPrefix, pfx
		return nil
	case bracketed:
		a, err := netip.ParseAddr(inner)
		if err != nil {
			return fmt.Errorf("invalid IPv6 address: %w", err)
		}
		if err := checkPatternAddr(a, true); err != nil {
			return err
		}
		r.kind, r.prefix = kindPrefix, netip.PrefixFrom(a, a.BitLen())
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if err := checkPatternAddr(a, false); err != nil {
			return err
		}
		r.kind, r.prefix = kindPrefix, netip.PrefixFrom(a, a.BitLen())
		return nil
	}
	r.kind = kindName
	if base, ok := strings.CutPrefix(host, "*."); ok {
		r.kind, host = kindWildcard, base
	}
	name, addr, err := normalizeHost(host)
	switch {
	case err != nil:
		return err
	case addr.IsValid():
		return fmt.Errorf("%q is an IP address: write it as %s", host, addr)
	case r.kind == kindWildcard && !strings.Contains(name, "."):
		return fmt.Errorf("wildcard over a single label %q is too broad", name)
	}
	r.host = name
	return nil
}

func checkPatternAddr(a netip.Addr, bracketed bool) error {
	switch {
	case a.Zone() != "":
		return errZone
	case a.Is4In6():
		return fmt.Errorf("write IPv4-mapped address %s as IPv4 %s", a, a.Unmap())
	case a.Is4() && bracketed:
		return fmt.Errorf("IPv4 address %s must not be bracketed", a)
	case a.Is6() && !bracketed:
		return fmt.Errorf("IPv6 address %s must be bracketed", a)
	}
	return nil
}

// String returns the canonical text of the rule; parsing it yields the
// same rule.
func (r rule) String() string {
	var host string
	switch r.kind {
	case kindName:
		host = r.host
	case kindWildcard:
		host = "*." + r.host
	case kindPrefix:
		if r.prefix.IsSingleIP() {
			host = r.prefix.Addr().String()
		} else {
			host = r.prefix.String()
		}
		if r.prefix.Addr().Is6() {
			host = "[" + host + "]"
		}
	}
	return r.scheme + "://" + host + ":" + strconv.Itoa(r.port)
}

// Patterns returns the canonical form of every pattern, in order: always
// with a scheme, normalised host names, canonical IP and CIDR text.
// ParseAllowlist(a.Patterns()) yields an equal Allowlist.
func (a *Allowlist) Patterns() []string {
	if a == nil {
		return nil
	}
	out := make([]string, len(a.rules))
	for i, r := range a.rules {
		out[i] = r.String()
	}
	return out
}

// matchName reports whether the rule's host grants the normalised name.
func (r *rule) matchName(name string) bool {
	switch r.kind {
	case kindName:
		return name == r.host
	case kindWildcard:
		return len(name) > len(r.host)+1 && strings.HasSuffix(name, r.host) && name[len(name)-len(r.host)-1] == '.'
	}
	return false
}

// Allows reports whether a grant names scheme, host and port. host is
// normalised first, exactly as [Check] normalises a URL's host, so "0x7f.1"
// is 127.0.0.1 and "Bücher.example." is "xn--bcher-kva.example". An IP host
// is allowed only by an IP or CIDR pattern that contains it, a name only by
// a name or wildcard pattern.
//
// Allows is the grant alone. A name it allows must still resolve only to
// public addresses or to addresses the grant names by IP: see
// [Allowlist.CheckAddr] and [Dialer].
func (a *Allowlist) Allows(scheme, host string, port int) bool {
	if a == nil {
		return false
	}
	name, addr, err := normalizeHost(host)
	if err != nil {
		return false
	}
	scheme = strings.ToLower(scheme)
	if addr.IsValid() {
		return a.grantsAddr(scheme, addr, port)
	}
	for i := range a.rules {
		r := &a.rules[i]
		if r.scheme == scheme && r.port == port && r.matchName(name) {
			return true
		}
	}
	return false
}

// grantsAddr reports whether an IP or CIDR pattern names addr for scheme
// and port.
func (a *Allowlist) grantsAddr(scheme string, addr netip.Addr, port int) bool {
	if a == nil {
		return false
	}
	for i := range a.rules {
		r := &a.rules[i]
		if r.kind == kindPrefix && r.scheme == scheme && r.port == port && r.prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// CheckTarget decides whether the grant allows t, before any DNS lookup.
// It returns nil when a pattern matches t's host, scheme and port, or else
// a coded error:
//   - [CodeDeniedAddress] for an IP target that no IP/CIDR pattern
//     contains and whose [Classify] class is not public;
//   - [CodeDeniedHost] when no pattern matches the host (names match name
//     and wildcard patterns, IPs match IP and CIDR patterns);
//   - [CodeDeniedScheme] when none of those has t's scheme;
//   - [CodeDeniedPort] when none of those has t's port.
//
// A name that passes must still have its resolved addresses checked with
// [Allowlist.CheckAddr].
func (a *Allowlist) CheckTarget(t Target) error {
	var host, scheme bool
	if a != nil {
		for i := range a.rules {
			r := &a.rules[i]
			if t.Addr.IsValid() {
				if r.kind != kindPrefix || !r.prefix.Contains(t.Addr) {
					continue
				}
			} else if !r.matchName(t.Host) {
				continue
			}
			host = true
			if r.scheme != t.Scheme {
				continue
			}
			scheme = true
			if r.port == t.Port {
				return nil
			}
		}
	}
	switch {
	case !host && t.Addr.IsValid() && Classify(t.Addr) != ClassPublic:
		return newError(CodeDeniedAddress, "address "+t.Host+" is "+article(Classify(t.Addr))+" address, which the grant does not name", nil)
	case !host:
		return newError(CodeDeniedHost, "host "+strconv.Quote(t.Host)+" is not in the egress allowlist", nil)
	case !scheme:
		return newError(CodeDeniedScheme, "scheme "+t.Scheme+" is not granted for host "+strconv.Quote(t.Host), nil)
	default:
		return newError(CodeDeniedPort, "port "+strconv.Itoa(t.Port)+" is not granted for host "+strconv.Quote(t.Host), nil)
	}
}

// CheckAddr decides whether t may connect to addr, an address its host
// resolved to. A public address is allowed; any other class only when an
// IP/CIDR pattern names it with t's scheme and port. The error is
// [CodeDeniedAddress]. IPv4-mapped and IPv4-compatible forms are unwrapped
// first, and an address with a zone is refused.
func (a *Allowlist) CheckAddr(t Target, addr netip.Addr) error {
	if addr.Zone() != "" {
		return newError(CodeDeniedAddress, "host "+strconv.Quote(t.Host)+" resolves to an address with a zone", fmt.Errorf("address %s", addr))
	}
	addr = unwrap(addr)
	c := Classify(addr)
	if c == ClassPublic || a.grantsAddr(t.Scheme, addr, t.Port) {
		return nil
	}
	return newError(CodeDeniedAddress, "host "+strconv.Quote(t.Host)+" resolves to "+article(c)+" address, which the grant does not name", fmt.Errorf("address %s", addr))
}

func article(c Class) string {
	switch c {
	case ClassUnspecified, ClassUniqueLocal:
		return "an " + string(c)
	}
	return "a " + string(c)
}
