package manifests

import "testing"

func TestEgressWithin(t *testing.T) {
	tests := []struct {
		role, tool string
		want       bool
	}{
		{"en.wikipedia.org:443", "*.wikipedia.org:443", true},
		{"a.b.wikipedia.org:443", "*.wikipedia.org:443", true},
		{"*.de.wikipedia.org:443", "*.wikipedia.org:443", true},
		{"*.wikipedia.org:443", "*.wikipedia.org:443", true},
		{"EN.Wikipedia.org:443", "*.wikipedia.org:443", true},
		{"wikipedia.org:443", "*.wikipedia.org:443", false},
		{"enwikipedia.org:443", "*.wikipedia.org:443", false},
		{"*.wikipedia.org:443", "en.wikipedia.org:443", false},
		{"en.wikipedia.org:80", "*.wikipedia.org:443", false},
		{"http://en.wikipedia.org:443", "*.wikipedia.org:443", false},
		{"https://en.wikipedia.org:443", "*.wikipedia.org:443", true},
		{"http://a.example.com:80", "http://*.example.com:80", true},
		{"api.example.com:443", "api.example.com:443", true},
		{"10.1.2.3:5432", "10.0.0.0/8:5432", true},
		{"10.1.0.0/16:5432", "10.0.0.0/8:5432", true},
		{"10.0.0.0/7:5432", "10.0.0.0/8:5432", false},
		{"11.0.0.1:5432", "10.0.0.0/8:5432", false},
		{"[2001:db8::1]:443", "[2001:db8::/32]:443", true},
		{"[2001:db9::1]:443", "[2001:db8::/32]:443", false},
		{"192.0.2.1:443", "*.example.com:443", false},
		{"a.example.com:443", "192.0.2.0/24:443", false},
	}
	for _, tt := range tests {
		p, err := parseEgress(tt.role)
		if err != nil {
			t.Fatalf("parseEgress(%q): %v", tt.role, err)
		}
		q, err := parseEgress(tt.tool)
		if err != nil {
			t.Fatalf("parseEgress(%q): %v", tt.tool, err)
		}
		if got := p.within(q); got != tt.want {
			t.Errorf("%q within %q = %v, want %v", tt.role, tt.tool, got, tt.want)
		}
	}
}

func TestParseEgressRefuses(t *testing.T) {
	for _, s := range []string{
		"", "example.com", ":443", "example.com:", "example.com:0", "example.com:65536", "example.com:+443",
		"example.com.:443", "-a.example.com:443", "a..example.com:443", "*.com:443", "a.*.example.com:443",
		"*:443", "**.example.com:443", "bücher.example:443", "1.2.3:443", "01.2.3.4:443", "::1:443", "[::1]",
		"[1.2.3.4]:443", "[::ffff:1.2.3.4]:443", "[fe80::1%eth0]:443", "10.0.0.1/8:443", "0.0.0.0/0:443",
		"ftp://example.com:21", "HTTP://example.com:80", "example.com:443/path",
	} {
		if p, err := parseEgress(s); err == nil {
			t.Errorf("parseEgress(%q) = %+v, want an error", s, p)
		}
	}
}
