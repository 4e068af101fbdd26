package manifests

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// egressPattern is a parsed "[scheme://]host:port" egress entry.
type egressPattern struct {
	scheme   string       // "https" unless written "http://"
	port     int          // 1-65535
	name     string       // lower-case DNS name; for a wildcard, the base without "*."
	wildcard bool         // "*.name": one or more labels under name, never name itself
	prefix   netip.Prefix // an IP address (a full-length prefix) or a CIDR; valid only for those
}

// parseEgress parses an egress entry: host:port, where host is a DNS name
// ("api.example.com"), a wildcard over a name ("*.example.com", the whole
// leftmost label, over at least two labels), an IPv4 address, a bracketed
// IPv6 address ("[::1]") or a CIDR ("10.0.0.0/8", "[fd00::/8]"), and port
// is 1-65535. An optional "https://" (the default) or "http://" prefix
// selects the scheme, as the sandbox's egress allowlist reads it.
func parseEgress(s string) (egressPattern, error) {
	p := egressPattern{scheme: "https"}
	if len(s) > 300 {
		return p, errors.New("is longer than 300 bytes")
	}
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return p, fmt.Errorf("scheme %q is not http or https", scheme)
		}
		p.scheme, rest = scheme, after
	}
	var host, port string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !strings.HasPrefix(rest[end+1:], ":") {
			return p, errors.New("is not host:port (write IPv6 as [::1]:443)")
		}
		host, port = rest[1:end], rest[end+2:]
		pfx, err := parsePrefix(host, true)
		if err != nil {
			return p, err
		}
		p.prefix = pfx
	} else {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return p, errors.New("is not host:port (the port is required, e.g. example.com:443)")
		}
		host, port = rest[:i], rest[i+1:]
		switch {
		case host == "":
			return p, errors.New("has an empty host")
		case strings.Contains(host, ":"):
			return p, errors.New("has an IPv6 address without brackets (write [::1]:443)")
		case strings.Contains(host, "/") || looksNumeric(host):
			pfx, err := parsePrefix(host, false)
			if err != nil {
				return p, err
			}
			p.prefix = pfx
		default:
			name := strings.ToLower(host)
			if base, ok := strings.CutPrefix(name, "*."); ok {
				p.wildcard, name = true, base
				if !strings.Contains(name, ".") {
					return p, fmt.Errorf("wildcard over the single label %q is too broad", name)
				}
			}
			if err := checkDNSName(name); err != nil {
				return p, err
			}
			p.name = name
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || port == "" || port[0] < '0' || port[0] > '9' || n < 1 || n > 65535 {
		return p, fmt.Errorf("port %q is not in 1-65535", clip(port))
	}
	p.port = n
	return p, nil
}

// looksNumeric reports whether host is made of digits and dots only: an
// IPv4 address (or a mistyped one), never a DNS name we would accept.
func looksNumeric(host string) bool {
	for i := 0; i < len(host); i++ {
		if (host[i] < '0' || host[i] > '9') && host[i] != '.' {
			return false
		}
	}
	return true
}

func parsePrefix(s string, v6 bool) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil || pfx.Addr().Is6() != v6 || pfx.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", clip(s))
		}
		if pfx != pfx.Masked() {
			return netip.Prefix{}, fmt.Errorf("CIDR %s has host bits set (did you mean %s?)", pfx, pfx.Masked())
		}
		if pfx.Bits() == 0 {
			return netip.Prefix{}, errors.New("a /0 CIDR matches every address; name the ranges you mean")
		}
		return pfx, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is6() != v6 || a.Zone() != "" || a.Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", clip(s))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkDNSName accepts lower-case ASCII host names: labels of 1-63
// letters, digits and hyphens, not starting or ending with a hyphen, at
// most 253 bytes, no trailing dot. (Write internationalised names in
// punycode.)
func checkDNSName(name string) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("host %q is not a DNS name", clip(name))
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is not a DNS name", clip(name))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q is not a DNS name (write internationalised names in punycode)", clip(name))
			}
		}
	}
	return nil
}

// within reports whether every destination p allows, q allows too.
func (p egressPattern) within(q egressPattern) bool {
	if p.scheme != q.scheme || p.port != q.port {
		return false
	}
	switch {
	case q.prefix.IsValid():
		return p.prefix.IsValid() && q.prefix.Bits() <= p.prefix.Bits() && q.prefix.Contains(p.prefix.Addr())
	case p.prefix.IsValid():
		return false
	case q.wildcard:
		return strings.HasSuffix(p.name, "."+q.name) || (p.wildcard && p.name == q.name)
	default:
		return !p.wildcard && p.name == q.name
	}
}
