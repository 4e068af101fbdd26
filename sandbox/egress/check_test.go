package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/sandbox"
)

// code returns the reason code of err, "" for nil and "uncoded" for an
// error without one.
func code(err error) string {
	if err == nil {
		return ""
	}
	if se, ok := errors.AsType[*sandbox.Error](err); ok {
		return se.Code
	}
	return "uncoded"
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		wantCode string
		wantHost string
		wantPort int
		wantURL  string
	}{
		{"plain https", "https://api.example.com/v1?x=1", "", "api.example.com", 443, "https://api.example.com/v1?x=1"},
		{"plain http", "http://example.com", "", "example.com", 80, "http://example.com"},
		{"upper case and trailing dot", "HTTPS://API.Example.COM./a", "", "api.example.com", 443, "https://api.example.com/a"},
		{"explicit default port dropped from URL", "https://example.com:443/", "", "example.com", 443, "https://example.com/"},
		{"port with leading zeros", "http://example.com:0080/", "", "example.com", 80, "http://example.com/"},
		{"other port kept", "http://example.com:8080/", "", "example.com", 8080, "http://example.com:8080/"},
		{"fragment dropped", "https://example.com/a#frag", "", "example.com", 443, "https://example.com/a"},
		{"escaped path kept", "https://example.com/a%2Fb", "", "example.com", 443, "https://example.com/a%2Fb"},
		{"space in path escaped", "https://example.com/a b", "", "example.com", 443, "https://example.com/a%20b"},
		{"query kept", "https://example.com/?a=1&b=%2F&c=x/y?z", "", "example.com", 443, "https://example.com/?a=1&b=%2F&c=x/y?z"},
		{"query made well-formed", "https://example.com/?a b&c=\"d\"&e=%zz&f=%", "", "example.com", 443, "https://example.com/?a%20b&c=%22d%22&e=%25zz&f=%25"},
		{"IDNA to punycode", "https://Bücher.example/", "", "xn--bcher-kva.example", 443, "https://xn--bcher-kva.example/"},
		{"ideographic full stop", "https://a%E3%80%82example.com/", "", "a.example.com", 443, "https://a.example.com/"},
		{"fullwidth digits are an IPv4 address", "http://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/", "", "127.0.0.1", 80, "http://127.0.0.1/"},

		// Every IPv4 literal form, read as inet_aton reads it.
		{"dotted decimal", "http://127.0.0.1/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"trailing dot on address", "http://127.0.0.1./", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"single decimal number", "http://2130706433/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"single hex number", "http://0x7f000001/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"single octal number", "http://017700000001/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"hex two parts", "http://0x7f.1/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"upper-case hex", "http://0X7F.0X1/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"octal first part", "http://0177.0.0.1/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"two parts", "http://127.1/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"three parts", "http://169.254.43518/", "", "169.254.169.254", 80, "http://169.254.169.254/"},
		{"mixed bases", "http://0xa9.0376.169.0xfe/", "", "169.254.169.254", 80, "http://169.254.169.254/"},
		{"bare 0x is zero", "http://0x/", "", "0.0.0.0", 80, "http://0.0.0.0/"},
		{"zero", "http://0/", "", "0.0.0.0", 80, "http://0.0.0.0/"},

		// IPv6 forms.
		{"IPv6 loopback", "http://[::1]:8080/", "", "::1", 8080, "http://[::1]:8080/"},
		{"IPv4-mapped unwrapped", "http://[::ffff:127.0.0.1]/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"IPv4-mapped hex unwrapped", "http://[::ffff:a9fe:a9fe]/", "", "169.254.169.254", 80, "http://169.254.169.254/"},
		{"IPv4-compatible unwrapped", "http://[::127.0.0.1]/", "", "127.0.0.1", 80, "http://127.0.0.1/"},
		{"IPv6 canonicalised", "http://[2001:DB8:0:0::1]/", "", "2001:db8::1", 80, "http://[2001:db8::1]/"},
		{"IPv6 zone", "http://[fe80::1%25eth0]/", CodeDeniedAddress, "", 0, ""},

		// Refusals.
		{"userinfo", "http://user:pw@example.com/", CodeUserinfo, "", 0, ""},
		{"empty userinfo", "http://@example.com/", CodeUserinfo, "", 0, ""},
		{"user only", "https://user@example.com/", CodeUserinfo, "", 0, ""},
		{"ftp", "ftp://example.com/", CodeDeniedScheme, "", 0, ""},
		{"file", "file:///etc/passwd", CodeInvalidRequest, "", 0, ""},
		{"gopher", "gopher://example.com:70/", CodeDeniedScheme, "", 0, ""},
		{"relative", "/a/b", CodeInvalidRequest, "", 0, ""},
		{"opaque", "http:example.com", CodeInvalidRequest, "", 0, ""},
		{"port zero", "http://example.com:0/", CodeInvalidRequest, "", 0, ""},
		{"port too large", "http://example.com:65536/", CodeInvalidRequest, "", 0, ""},
		{"five parts", "http://1.2.3.4.5/", CodeInvalidRequest, "", 0, ""},
		{"part above 255", "http://256.0.0.1/", CodeInvalidRequest, "", 0, ""},
		{"last part too large", "http://127.16777216/", CodeInvalidRequest, "", 0, ""},
		{"bad octal", "http://08.0.0.1/", CodeInvalidRequest, "", 0, ""},
		{"empty part", "http://127..0.1/", CodeInvalidRequest, "", 0, ""},
		{"name ending in a number", "http://example.123/", CodeInvalidRequest, "", 0, ""},
		{"huge number", "http://99999999999999999999/", CodeInvalidRequest, "", 0, ""},
		{"underscore", "http://a_b.example.com/", CodeInvalidRequest, "", 0, ""},
		{"empty label", "http://a..example.com/", CodeInvalidRequest, "", 0, ""},
		{"backslash", "http://example.com\\@evil.com/", CodeInvalidRequest, "", 0, ""},
		{"bracketed IPv4", "http://[127.0.0.1]/", CodeInvalidRequest, "", 0, ""},
		{"too long", "https://example.com/" + strings.Repeat("a", maxURLBytes), CodeInvalidRequest, "", 0, ""},
		{"label too long", "https://" + strings.Repeat("a", 64) + ".com/", CodeInvalidRequest, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.url)
			if c := code(err); c != tt.wantCode {
				t.Fatalf("Check(%q) code = %q, want %q (err %v)", tt.url, c, tt.wantCode, err)
			}
			if err != nil {
				if got != (Target{}) {
					t.Errorf("Check(%q) returned %+v with an error, want the zero Target", tt.url, got)
				}
				return
			}
			if got.Host != tt.wantHost || got.Port != tt.wantPort || got.String() != tt.wantURL {
				t.Errorf("Check(%q) = host %q port %d url %q, want %q %d %q", tt.url, got.Host, got.Port, got.String(), tt.wantHost, tt.wantPort, tt.wantURL)
			}
			if a, err := netip.ParseAddr(got.Host); (err == nil) != got.Addr.IsValid() || err == nil && a != got.Addr {
				t.Errorf("Check(%q): Host %q and Addr %v disagree", tt.url, got.Host, got.Addr)
			}
			again, err := Check(got.String())
			if err != nil || again != got {
				t.Errorf("Check(Check(%q).String()) = %+v, %v; want %+v", tt.url, again, err, got)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want Class
	}{
		{"8.8.8.8", ClassPublic},
		{"1.1.1.1", ClassPublic},
		{"2606:4700:4700::1111", ClassPublic},
		{"0.0.0.0", ClassUnspecified},
		{"::", ClassUnspecified},
		{"0.1.2.3", ClassThisNetwork},
		{"127.0.0.1", ClassLoopback},
		{"127.255.255.254", ClassLoopback},
		{"::1", ClassLoopback},
		{"10.1.2.3", ClassPrivate},
		{"172.16.0.1", ClassPrivate},
		{"172.31.255.255", ClassPrivate},
		{"172.32.0.1", ClassPublic},
		{"192.168.1.1", ClassPrivate},
		{"100.64.0.1", ClassSharedCGNAT},
		{"100.127.255.255", ClassSharedCGNAT},
		{"100.128.0.1", ClassPublic},
		{"169.254.169.254", ClassLinkLocal},
		{"169.254.0.1", ClassLinkLocal},
		{"fe80::1", ClassLinkLocal},
		{"febf::1", ClassLinkLocal},
		{"fc00::1", ClassUniqueLocal},
		{"fd00:ec2::254", ClassUniqueLocal},
		{"224.0.0.1", ClassMulticast},
		{"239.255.255.250", ClassMulticast},
		{"ff02::1", ClassMulticast},
		{"255.255.255.255", ClassBroadcast},
		{"240.0.0.1", ClassReserved},
		{"192.0.2.1", ClassDocumentation},
		{"198.51.100.7", ClassDocumentation},
		{"203.0.113.9", ClassDocumentation},
		{"2001:db8::1", ClassDocumentation},
		{"3fff::1", ClassDocumentation},
		{"198.18.0.1", ClassBenchmarking},
		{"198.19.255.255", ClassBenchmarking},
		{"2001:2::1", ClassBenchmarking},
		{"192.0.0.170", ClassReserved},
		{"100::1", ClassReserved},
		{"fec0::1", ClassReserved},
		{"4000::1", ClassReserved},
		{"64:ff9b:1::1", ClassReserved},
		// IPv6 forms carrying an IPv4 address.
		{"::ffff:127.0.0.1", ClassLoopback},
		{"::ffff:169.254.169.254", ClassLinkLocal},
		{"::ffff:8.8.8.8", ClassPublic},
		{"::127.0.0.1", ClassLoopback},
		{"::10.0.0.1", ClassPrivate},
		{"::ffff:0:10.0.0.1", ClassPrivate},
		{"64:ff9b::7f00:1", ClassLoopback},
		{"64:ff9b::169.254.169.254", ClassLinkLocal},
		{"64:ff9b::10.0.0.1", ClassPrivate},
		{"64:ff9b::8.8.8.8", ClassPublic},
		{"2002:7f00:1::1", ClassLoopback},
		{"2002:a9fe:a9fe::1", ClassLinkLocal},
		{"2002:c0a8:101::1", ClassPrivate},
		{"2002:808:808::1", ClassPublic},
		// Teredo: server 65.54.227.120, client obfuscated (bit-inverted).
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", ClassLoopback},  // client 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:5601:5601", ClassLinkLocal}, // client 169.254.169.254
		{"2001:0:7f00:1:8000:63bf:f7f7:f7f7", ClassLoopback},     // server 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ClassPublic},    // client 8.8.8.8
		{"fe80::1%eth0", ClassLinkLocal},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("Classify(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
	if got := Classify(netip.Addr{}); got != ClassReserved {
		t.Errorf("Classify(zero Addr) = %q, want %q", got, ClassReserved)
	}
}

func TestParseAllowlist(t *testing.T) {
	valid := []struct {
		pattern, canonical string
	}{
		{"example.com:443", "https://example.com:443"},
		{"https://example.com:443", "https://example.com:443"},
		{"HTTP://Example.COM.:80", "http://example.com:80"},
		{"*.Wikipedia.org:443", "https://*.wikipedia.org:443"},
		{"*.bücher.example:443", "https://*.xn--bcher-kva.example:443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1/32:8080", "http://127.0.0.1:8080"},
		{"10.0.0.0/8:443", "https://10.0.0.0/8:443"},
		{"[::1]:443", "https://[::1]:443"},
		{"[::1/128]:443", "https://[::1]:443"},
		{"[fd00::/8]:443", "https://[fd00::/8]:443"},
		{"[2001:DB8::1]:443", "https://[2001:db8::1]:443"},
		{"example.com:00443", "https://example.com:443"},
	}
	for _, tt := range valid {
		t.Run(tt.pattern, func(t *testing.T) {
			a, err := ParseAllowlist([]string{tt.pattern})
			if err != nil {
				t.Fatalf("ParseAllowlist(%q): %v", tt.pattern, err)
			}
			if got := a.Patterns(); len(got) != 1 || got[0] != tt.canonical {
				t.Errorf("ParseAllowlist(%q).Patterns() = %q, want [%q]", tt.pattern, got, tt.canonical)
			}
		})
	}
	invalid := []struct {
		pattern, wantErr string
	}{
		{"example.com", "missing :port"},
		{"example.com:", "not in 1-65535"},
		{"example.com:0", "not in 1-65535"},
		{"example.com:65536", "not in 1-65535"},
		{"example.com:+443", "not in 1-65535"},
		{"example.com:443/path", "not in 1-65535"},
		{"ftp://example.com:21", "not http or https"},
		{"*:443", "disallowed rune"},
		{"*.com:443", "too broad"},
		{"a.*.example.com:443", "disallowed rune"},
		{"*example.com:443", "disallowed rune"},
		{"::1:443", "must be bracketed"},
		{"[127.0.0.1]:443", "must not be bracketed"},
		{"[::ffff:127.0.0.1]:443", "IPv4-mapped"},
		{"[fe80::1%eth0]:443", "zone"},
		{"127.1:443", "is an IP address"},
		{"0x7f000001:443", "is an IP address"},
		{"127.000.0.1:443", "is an IP address"},
		{"10.0.0.1/8:443", "host bits set"},
		{"0.0.0.0/0:443", "/0"},
		{"[::/0]:443", "/0"},
		{"user@example.com:443", "disallowed rune"},
		{"example.123:443", "ends in a number"},
		{"[::1:443", "unterminated"},
		{"[::1]443", "want [ipv6]:port"},
		{":443", "empty host"},
	}
	for _, tt := range invalid {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := ParseAllowlist([]string{"ok.example:443", tt.pattern})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAllowlist(%q) error = %v, want one containing %q", tt.pattern, err, tt.wantErr)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	a, err := ParseAllowlist([]string{
		"api.example.com:443",
		"*.wiki.example:443",
		"http://plain.example:80",
		"http://127.0.0.1:8080",
		"10.0.0.0/8:443",
		"[fd00::/8]:443",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scheme, host string
		port         int
		want         bool
	}{
		{"https", "api.example.com", 443, true},
		{"HTTPS", "API.EXAMPLE.COM.", 443, true},
		{"https", "api.example.com", 8443, false},
		{"http", "api.example.com", 443, false},
		{"https", "example.com", 443, false},
		{"https", "x.api.example.com", 443, false},
		{"https", "en.wiki.example", 443, true},
		{"https", "a.b.wiki.example", 443, true},
		{"https", "wiki.example", 443, false},
		{"https", "evilwiki.example", 443, false},
		{"https", "en.wiki.example.evil.com", 443, false},
		{"http", "plain.example", 80, true},
		{"https", "plain.example", 443, false},
		{"http", "127.0.0.1", 8080, true},
		{"http", "2130706433", 8080, true},
		{"http", "0x7f.1", 8080, true},
		{"http", "[::ffff:127.0.0.1]", 8080, true},
		{"http", "127.0.0.2", 8080, false},
		{"http", "localhost", 8080, false},
		{"https", "10.200.0.1", 443, true},
		{"https", "11.0.0.1", 443, false},
		{"https", "[fd12::1]", 443, true},
		{"https", "fd12::1", 443, true},
		{"https", "[fe80::1%25eth0]", 443, false},
		{"https", "", 443, false},
		{"https", "api.example.com:443", 443, false},
	}
	for _, tt := range tests {
		if got := a.Allows(tt.scheme, tt.host, tt.port); got != tt.want {
			t.Errorf("Allows(%q, %q, %d) = %v, want %v", tt.scheme, tt.host, tt.port, got, tt.want)
		}
	}
	var none *Allowlist
	if none.Allows("https", "api.example.com", 443) {
		t.Error("nil Allowlist allows a host")
	}
}

func TestCheckTarget(t *testing.T) {
	a, err := ParseAllowlist([]string{
		"api.example.com:443",
		"http://127.0.0.1:8080",
		"8.8.8.0/24:443",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, want string
	}{
		{"https://api.example.com/", ""},
		{"https://other.example.com/", CodeDeniedHost},
		{"http://api.example.com:443/", CodeDeniedScheme},
		{"https://api.example.com:8443/", CodeDeniedPort},
		{"http://127.0.0.1:8080/", ""},
		{"http://127.1:8080/", ""},
		{"https://127.0.0.1:8080/", CodeDeniedScheme},
		{"http://127.0.0.1:9090/", CodeDeniedPort},
		{"http://127.0.0.2:8080/", CodeDeniedAddress},
		{"http://169.254.169.254/", CodeDeniedAddress},
		{"http://[::ffff:169.254.169.254]/", CodeDeniedAddress},
		{"http://[64:ff9b::a9fe:a9fe]/", CodeDeniedAddress},
		{"https://8.8.8.8/", ""},
		{"https://8.8.4.4/", CodeDeniedHost},
	}
	for _, tt := range tests {
		tg, err := Check(tt.url)
		if err != nil {
			t.Fatalf("Check(%q): %v", tt.url, err)
		}
		if got := code(a.CheckTarget(tg)); got != tt.want {
			t.Errorf("CheckTarget(%q) code = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	a, err := ParseAllowlist([]string{"svc.example:443", "127.0.0.1:443"})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := Check("https://svc.example/")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr, want string
	}{
		{"93.184.216.34", ""},
		{"127.0.0.1", ""},
		{"::ffff:127.0.0.1", ""},
		{"127.0.0.2", CodeDeniedAddress},
		{"169.254.169.254", CodeDeniedAddress},
		{"64:ff9b::7f00:1", CodeDeniedAddress},
		{"fe80::1%eth0", CodeDeniedAddress},
		{"fd00::1", CodeDeniedAddress},
	}
	for _, tt := range tests {
		if got := code(a.CheckAddr(tg, netip.MustParseAddr(tt.addr))); got != tt.want {
			t.Errorf("CheckAddr(%s) code = %q, want %q", tt.addr, got, tt.want)
		}
	}
	http, err := Check("http://svc.example:443/")
	if err != nil {
		t.Fatal(err)
	}
	if got := code(a.CheckAddr(http, netip.MustParseAddr("127.0.0.1"))); got != CodeDeniedAddress {
		t.Errorf("CheckAddr over http with an https IP grant: code = %q, want %q", got, CodeDeniedAddress)
	}
}
