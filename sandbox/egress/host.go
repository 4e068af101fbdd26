package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Host name limits from RFC 1035: a name is at most 253 characters written
// without its trailing dot, a label at most 63.
const (
	maxHostBytes  = 253
	maxLabelBytes = 63
	// maxRawHostBytes bounds the input handed to IDNA processing, so a huge
	// host costs nothing before it is refused.
	maxRawHostBytes = 1024
)

// errZone reports an IPv6 zone identifier. It is an address problem, not a
// syntax one: a zone selects a local interface, which no grant can name.
var errZone = errors.New("IPv6 zone identifiers are not allowed")

// normalizeHost returns the one form of host that both the allowlist check
// and the connection use: a lower-case ASCII (punycode) host name without a
// trailing dot, or, when host denotes an IP address in any form a URL parser
// or inet_aton would accept, that address (with IPv4-mapped and
// IPv4-compatible IPv6 unwrapped) and its canonical text.
//
// A bracketed host must be an IPv6 literal. A host whose last label is a
// number ("127.1", "0x7f.1", "2130706433", "example.123") is parsed as an
// IPv4 address the way inet_aton does, and is an error when that fails: it
// is never treated as a name, so it never reaches a resolver that might read
// it differently.
func normalizeHost(host string) (string, netip.Addr, error) {
	switch {
	case host == "":
		return "", netip.Addr{}, errors.New("empty host")
	case len(host) > maxRawHostBytes:
		return "", netip.Addr{}, fmt.Errorf("host is longer than %d bytes", maxRawHostBytes)
	}
	if host[0] == '[' {
		if host[len(host)-1] != ']' {
			return "", netip.Addr{}, errors.New("unterminated IPv6 literal")
		}
		a, err := parseIPv6(host[1 : len(host)-1])
		if err != nil {
			return "", netip.Addr{}, err
		}
		return a.String(), a, nil
	}
	if strings.IndexByte(host, ':') >= 0 {
		a, err := parseIPv6(host)
		if err != nil {
			return "", netip.Addr{}, err
		}
		return a.String(), a, nil
	}
	if !utf8.ValidString(host) {
		return "", netip.Addr{}, errors.New("host is not valid UTF-8")
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("invalid host name: %w", err)
	}
	ascii = strings.ToLower(strings.TrimSuffix(ascii, "."))
	// The normalised form must normalise to itself, or a grant written in
	// it would not match the host it came from. Plain lower-case ASCII
	// without punycode is always stable; check the rest.
	if ascii != host && ascii+"." != host || strings.Contains(ascii, "xn--") {
		again, err := idna.Lookup.ToASCII(ascii)
		if err != nil || again != ascii {
			return "", netip.Addr{}, fmt.Errorf("host name %q does not have a stable normal form", recordHost(host))
		}
	}
	if ascii == "" {
		return "", netip.Addr{}, errors.New("empty host")
	}
	if endsInNumber(ascii) {
		a, err := parseIPv4(ascii)
		if err != nil {
			return "", netip.Addr{}, err
		}
		return a.String(), a, nil
	}
	if err := checkName(ascii); err != nil {
		return "", netip.Addr{}, err
	}
	return ascii, netip.Addr{}, nil
}

// parseIPv6 parses an IPv6 literal (without brackets), refusing zones and
// IPv4 text, and unwraps IPv4-mapped and IPv4-compatible forms.
func parseIPv6(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid IPv6 literal: %w", err)
	}
	if a.Zone() != "" {
		return netip.Addr{}, errZone
	}
	if !a.Is6() {
		return netip.Addr{}, fmt.Errorf("invalid IPv6 literal %q", s)
	}
	return unwrap(a), nil
}

// unwrap turns an IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible
// (::a.b.c.d) IPv6 address into the IPv4 address it carries; :: and ::1 are
// left alone. Every other address is returned unchanged (without zone).
func unwrap(a netip.Addr) netip.Addr {
	if a.Is4In6() {
		return a.Unmap()
	}
	if a.Is6() {
		b := a.As16()
		loopbackOrUnspecified := isZero(b[12:15]) && b[15] <= 1
		if isZero(b[:12]) && !loopbackOrUnspecified {
			return netip.AddrFrom4([4]byte(b[12:16]))
		}
	}
	return a.WithZone("")
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checkName checks that an IDNA-processed name is a sequence of LDH labels
// within the DNS length limits.
func checkName(name string) error {
	if len(name) > maxHostBytes {
		return fmt.Errorf("host name is longer than %d bytes", maxHostBytes)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return errors.New("host name has an empty label")
		}
		if len(label) > maxLabelBytes {
			return fmt.Errorf("host name label is longer than %d bytes", maxLabelBytes)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return fmt.Errorf("invalid character %q in host name", c)
			}
		}
	}
	return nil
}

// endsInNumber reports whether the last label of a host is a number, as the
// WHATWG URL standard defines it: all decimal digits, or "0x" followed by hex
// digits. Such a host is an IPv4 address or invalid, never a name.
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return allDigits(last[2:], 16)
	}
	return allDigits(last, 10)
}

func allDigits(s string, base uint64) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := digit(s[i], base); !ok {
			return false
		}
	}
	return true
}

func digit(c byte, base uint64) (uint64, bool) {
	var d uint64
	switch {
	case '0' <= c && c <= '9':
		d = uint64(c - '0')
	case 'a' <= c && c <= 'f':
		d = uint64(c-'a') + 10
	case 'A' <= c && c <= 'F':
		d = uint64(c-'A') + 10
	default:
		return 0, false
	}
	return d, d < base
}

// parseIPv4 parses every IPv4 text form inet_aton accepts: one to four
// dot-separated parts, each decimal, octal (leading 0) or hexadecimal (0x),
// where the last part fills the remaining bytes ("127.1" is 127.0.0.1,
// "2130706433" is 127.0.0.1, "0x7f.1" is 127.0.0.1, "0177.0.0.1" is
// 127.0.0.1). As in the WHATWG URL standard, a bare "0x" part is zero.
func parseIPv4(s string) (netip.Addr, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, fmt.Errorf("host %q ends in a number but is not an IPv4 address: more than 4 parts", s)
	}
	var v uint64
	for i, p := range parts {
		n, err := parseIPv4Part(p)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("host %q ends in a number but is not an IPv4 address: %w", s, err)
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, fmt.Errorf("host %q ends in a number but is not an IPv4 address: part %q is larger than 255", s, p)
			}
			v = v<<8 | n
			continue
		}
		rest := uint(8 * (5 - len(parts)))
		if n >= 1<<rest {
			return netip.Addr{}, fmt.Errorf("host %q ends in a number but is not an IPv4 address: last part %q is too large", s, p)
		}
		v = v<<rest | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// parseIPv4Part parses one part of an inet_aton address; values above
// 2^32 are refused before they can overflow.
func parseIPv4Part(p string) (uint64, error) {
	if p == "" {
		return 0, errors.New("empty part")
	}
	base := uint64(10)
	digits := p
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, digits = 16, p[2:]
	case len(p) >= 2 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		d, ok := digit(digits[i], base)
		if !ok {
			return 0, fmt.Errorf("part %q is not a base-%d number", p, base)
		}
		n = n*base + d
		if n > 0xffffffff {
			return 0, fmt.Errorf("part %q is too large", p)
		}
	}
	return n, nil
}
