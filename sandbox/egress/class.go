package egress

import "net/netip"

// Class names the kind of destination an IP address is. Every class but
// [ClassPublic] is refused unless a grant names the address by IP or CIDR.
type Class string

// Address classes.
const (
	ClassPublic        Class = "public"        // globally routable unicast
	ClassUnspecified   Class = "unspecified"   // 0.0.0.0, ::
	ClassThisNetwork   Class = "this-network"  // 0.0.0.0/8
	ClassLoopback      Class = "loopback"      // 127.0.0.0/8, ::1
	ClassPrivate       Class = "private"       // RFC 1918: 10/8, 172.16/12, 192.168/16
	ClassSharedCGNAT   Class = "cgnat"         // RFC 6598: 100.64.0.0/10
	ClassLinkLocal     Class = "link-local"    // 169.254.0.0/16 (cloud metadata), fe80::/10
	ClassUniqueLocal   Class = "unique-local"  // fc00::/7
	ClassMulticast     Class = "multicast"     // 224.0.0.0/4, ff00::/8
	ClassBroadcast     Class = "broadcast"     // 255.255.255.255
	ClassDocumentation Class = "documentation" // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
	ClassBenchmarking  Class = "benchmarking"  // 198.18.0.0/15, 2001:2::/48
	ClassReserved      Class = "reserved"      // other special-purpose or unallocated space
)

type classRange struct {
	prefix netip.Prefix
	class  Class
}

// ipv4Ranges is checked in order; the first match wins.
var ipv4Ranges = []classRange{
	{netip.MustParsePrefix("0.0.0.0/32"), ClassUnspecified},
	{netip.MustParsePrefix("0.0.0.0/8"), ClassThisNetwork},
	{netip.MustParsePrefix("10.0.0.0/8"), ClassPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), ClassSharedCGNAT},
	{netip.MustParsePrefix("127.0.0.0/8"), ClassLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), ClassLinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), ClassPrivate},
	{netip.MustParsePrefix("192.0.0.0/24"), ClassReserved}, // IETF protocol assignments (DS-Lite, NAT64 discovery)
	{netip.MustParsePrefix("192.0.2.0/24"), ClassDocumentation},
	{netip.MustParsePrefix("192.88.99.0/24"), ClassReserved}, // former 6to4 relay anycast
	{netip.MustParsePrefix("192.168.0.0/16"), ClassPrivate},
	{netip.MustParsePrefix("198.18.0.0/15"), ClassBenchmarking},
	{netip.MustParsePrefix("198.51.100.0/24"), ClassDocumentation},
	{netip.MustParsePrefix("203.0.113.0/24"), ClassDocumentation},
	{netip.MustParsePrefix("224.0.0.0/4"), ClassMulticast},
	{netip.MustParsePrefix("255.255.255.255/32"), ClassBroadcast},
	{netip.MustParsePrefix("240.0.0.0/4"), ClassReserved},
}

// ipv6Ranges is checked in order after the forms that embed an IPv4 address
// have been handled; the first match wins. Anything outside 2000::/3 (the
// only space IANA allocates for global unicast) is reserved.
var ipv6Ranges = []classRange{
	{netip.MustParsePrefix("64:ff9b:1::/48"), ClassReserved}, // local-use NAT64 (RFC 8215): the embedding is network-specific
	{netip.MustParsePrefix("100::/64"), ClassReserved},       // discard-only
	{netip.MustParsePrefix("2001:2::/48"), ClassBenchmarking},
	{netip.MustParsePrefix("2001:db8::/32"), ClassDocumentation},
	{netip.MustParsePrefix("2001::/23"), ClassReserved}, // IETF protocol assignments (Teredo is handled before)
	{netip.MustParsePrefix("3fff::/20"), ClassDocumentation},
	{netip.MustParsePrefix("fc00::/7"), ClassUniqueLocal},
	{netip.MustParsePrefix("fe80::/10"), ClassLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), ClassReserved}, // deprecated site-local
	{netip.MustParsePrefix("ff00::/8"), ClassMulticast},
}

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	translated    = netip.MustParsePrefix("::ffff:0:0:0/96") // SIIT IPv4-translated (RFC 2765)
	sixToFour     = netip.MustParsePrefix("2002::/16")
	teredo        = netip.MustParsePrefix("2001::/32")
)

// Classify returns the class of addr. An IPv6 address that carries an IPv4
// address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96,
// IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16,
// Teredo 2001::/32 with its server and its obfuscated client address) takes
// the class of the IPv4 address it carries when that class is not public, so
// 64:ff9b::a9fe:a9fe is [ClassLinkLocal] like 169.254.169.254. The zero
// Addr is [ClassReserved]. A zone is ignored.
func Classify(addr netip.Addr) Class {
	if !addr.IsValid() {
		return ClassReserved
	}
	addr = addr.WithZone("")
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	if addr.Is4() {
		for _, r := range ipv4Ranges {
			if r.prefix.Contains(addr) {
				return r.class
			}
		}
		return ClassPublic
	}
	b := addr.As16()
	switch {
	case addr == netip.IPv6Unspecified():
		return ClassUnspecified
	case addr == netip.IPv6Loopback():
		return ClassLoopback
	case isZero(b[:12]): // IPv4-compatible
		return Classify(netip.AddrFrom4([4]byte(b[12:16])))
	case translated.Contains(addr), nat64.Contains(addr):
		return Classify(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(addr):
		return Classify(netip.AddrFrom4([4]byte(b[2:6])))
	case teredo.Contains(addr):
		if c := Classify(netip.AddrFrom4([4]byte(b[4:8]))); c != ClassPublic {
			return c
		}
		return Classify(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
	}
	for _, r := range ipv6Ranges {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	if !globalUnicast.Contains(addr) {
		return ClassReserved
	}
	return ClassPublic
}
