package egress

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzPatterns is the grant FuzzCheckURL checks URLs against; it has every
// kind of pattern.
var fuzzPatterns = []string{
	"https://api.example.com:443",
	"https://*.wiki.example:443",
	"http://plain.example:80",
	"http://*.xn--bcher-kva.example:8080",
	"http://127.0.0.1:8080",
	"https://10.0.0.0/8:443",
	"https://93.184.216.0/24:443",
	"https://[fd00::/8]:443",
	"http://[::1]:8080",
}

// granted is an independent, textual reading of canonical patterns: it
// reports whether one of them names t's scheme, host and port.
func granted(patterns []string, t Target) bool {
	for _, p := range patterns {
		scheme, rest, ok := strings.Cut(p, "://")
		if !ok {
			return false
		}
		i := strings.LastIndexByte(rest, ':')
		host, port := rest[:i], rest[i+1:]
		if scheme != t.Scheme || port != strconv.Itoa(t.Port) {
			continue
		}
		ip := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if !strings.Contains(ip, "/") {
			if a, err := netip.ParseAddr(ip); err == nil {
				ip = a.String() + "/" + strconv.Itoa(a.BitLen())
			}
		}
		if pfx, err := netip.ParsePrefix(ip); err == nil {
			if t.Addr.IsValid() && pfx.Contains(t.Addr) {
				return true
			}
			continue
		}
		if t.Addr.IsValid() {
			continue
		}
		if base, ok := strings.CutPrefix(host, "*"); ok {
			if strings.HasSuffix(t.Host, base) && len(t.Host) > len(base) {
				return true
			}
			continue
		}
		if t.Host == host {
			return true
		}
	}
	return false
}

// FuzzCheckURL checks that nothing outside the grant is ever allowed: for
// any URL string, if Check and CheckTarget admit it, a pattern names its
// normalised host textually (or contains its address), and for any
// resolved address CheckAddr admits, the address is public or named by IP.
func FuzzCheckURL(f *testing.F) {
	allow, err := ParseAllowlist(fuzzPatterns)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string, resolved []byte) {
		tg, err := Check(raw)
		if err != nil {
			if c := code(err); !strings.HasPrefix(c, "egress.") {
				t.Fatalf("Check(%q) error %v has code %q", raw, err, c)
			}
			if tg != (Target{}) {
				t.Fatalf("Check(%q) returned %+v with an error", raw, tg)
			}
			return
		}
		if tg.Scheme != "http" && tg.Scheme != "https" || tg.Port < 1 || tg.Port > 65535 {
			t.Fatalf("Check(%q) = %+v: bad scheme or port", raw, tg)
		}
		if tg.Addr.IsValid() {
			if tg.Host != tg.Addr.String() || tg.Addr.Is4In6() || tg.Addr.Zone() != "" {
				t.Fatalf("Check(%q) = %+v: address not canonical", raw, tg)
			}
		} else {
			if _, err := netip.ParseAddr(tg.Host); err == nil || endsInNumber(tg.Host) || checkName(tg.Host) != nil {
				t.Fatalf("Check(%q) = %+v: host is not a normalised name", raw, tg)
			}
		}
		again, err := Check(tg.String())
		if err != nil || again != tg {
			t.Fatalf("Check(%q) = %+v, but Check(%q) = %+v, %v", raw, tg, tg.String(), again, err)
		}
		err = allow.CheckTarget(tg)
		if err == nil && !granted(fuzzPatterns, tg) {
			t.Fatalf("CheckTarget(%q → %+v) allowed a destination no pattern names", raw, tg)
		}
		if (err == nil) != allow.Allows(tg.Scheme, tg.Host, tg.Port) {
			t.Fatalf("CheckTarget(%+v) = %v but Allows = %v", tg, err, !(err == nil))
		}
		if err != nil && !strings.HasPrefix(code(err), "egress.denied_") {
			t.Fatalf("CheckTarget(%+v) error %v has code %q", tg, err, code(err))
		}

		var a netip.Addr
		switch len(resolved) {
		case 4:
			a = netip.AddrFrom4([4]byte(resolved))
		case 16:
			a = netip.AddrFrom16([16]byte(resolved))
		default:
			return
		}
		if allow.CheckAddr(tg, a) == nil {
			u := unwrap(a)
			if Classify(u) != ClassPublic && !granted(fuzzPatterns, Target{Scheme: tg.Scheme, Host: u.String(), Addr: u, Port: tg.Port}) {
				t.Fatalf("CheckAddr(%+v, %s) allowed a %s address no pattern names", tg, a, Classify(u))
			}
		}
	})
}

// FuzzAllowlist checks that patterns round-trip through their canonical
// form and that Allows admits only what the pattern names textually.
func FuzzAllowlist(f *testing.F) {
	f.Fuzz(func(t *testing.T, pattern, scheme, host string, port int) {
		a, err := ParseAllowlist([]string{pattern})
		if err != nil {
			return
		}
		canon := a.Patterns()
		b, err := ParseAllowlist(canon)
		if err != nil {
			t.Fatalf("ParseAllowlist(%q) = %q, which does not parse: %v", pattern, canon, err)
		}
		if !slices.Equal(a.rules, b.rules) || !slices.Equal(b.Patterns(), canon) {
			t.Fatalf("ParseAllowlist(%q) = %q, which parses to %q", pattern, canon, b.Patterns())
		}
		if base, ok := strings.CutPrefix(canon[0], "https://*."); ok {
			name := base[:strings.LastIndexByte(base, ':')]
			if a.Allows("https", name, a.rules[0].port) {
				t.Fatalf("%q allows its own base %q", canon[0], name)
			}
		}
		if !a.Allows(scheme, host, port) {
			return
		}
		name, addr, err := normalizeHost(host)
		if err != nil {
			t.Fatalf("Allows(%q, %q, %d) = true for a host that does not normalise: %v", scheme, host, port, err)
		}
		if !granted(canon, Target{Scheme: strings.ToLower(scheme), Host: name, Addr: addr, Port: port}) {
			t.Fatalf("%q allows (%q, %q, %d), which it does not name", canon, scheme, host, port)
		}
	})
}
