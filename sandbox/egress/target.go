package egress

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// maxURLBytes bounds the URLs [Check] accepts.
const maxURLBytes = 8 << 10

// Target is a checked, normalised request destination: what [Check]
// returns and what the allowlist check, the resolver and the connection all
// use, so that no two of them can read a URL differently.
//
// # Notes
//
// The zero Target is not valid; only [Check] makes one.
type Target struct {
	// Scheme is "http" or "https".
	Scheme string
	// Host is the normalised host: a lower-case ASCII (punycode) name
	// without a trailing dot, or the canonical text of an IP address
	// (without brackets) when the URL named one in any form.
	Host string
	// Addr is the address when Host is an IP literal (IPv4-mapped and
	// IPv4-compatible IPv6 unwrapped to IPv4), and the zero Addr for names.
	Addr netip.Addr
	// Port is the port, the scheme's default when the URL names none.
	Port int

	path, rawPath, rawQuery string
}

// HostPort returns Host and Port joined as "host:port" ("[::1]:443").
func (t Target) HostPort() string {
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

// URL returns the normalised URL: scheme, normalised host, the port when it
// is not the scheme's default, path and query. It has no userinfo and no
// fragment.
func (t Target) URL() *url.URL {
	host := t.HostPort()
	if t.Port == defaultPort(t.Scheme) {
		host = t.Host
		if t.Addr.Is6() {
			host = "[" + t.Host + "]"
		}
	}
	return &url.URL{Scheme: t.Scheme, Host: host, Path: t.path, RawPath: t.rawPath, RawQuery: t.rawQuery}
}

// String returns the normalised URL as text.
func (t Target) String() string { return t.URL().String() }

func defaultPort(scheme string) int {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// Check parses rawURL and returns its normalised [Target], or a coded
// error:
//   - [CodeInvalidRequest] for a URL that does not parse, is not absolute,
//     has no host, an invalid host or port, or is longer than 8 KiB;
//   - [CodeDeniedScheme] for a scheme other than http and https;
//   - [CodeUserinfo] for a URL with user:password@ (even an empty one);
//   - [CodeDeniedAddress] for an IPv6 zone ("[fe80::1%25eth0]").
//
// A host in any IPv4 form inet_aton accepts ("2130706433", "0x7f.1",
// "0177.0.0.1", "127.1") becomes the address it means, and IPv4-mapped or
// IPv4-compatible IPv6 becomes IPv4. Check does not consult an allowlist or
// classify the address: see [Allowlist.CheckTarget].
func Check(rawURL string) (Target, error) {
	t, err := parseTarget(rawURL)
	if err != nil {
		return Target{}, err
	}
	return t, nil
}

// parseTarget is [Check], except that on error the returned Target holds
// whatever host and port could be read, for the attempt record.
func parseTarget(rawURL string) (Target, error) {
	if len(rawURL) > maxURLBytes {
		return Target{}, newError(CodeInvalidRequest, "URL is longer than "+strconv.Itoa(maxURLBytes)+" bytes", nil)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return Target{}, newError(CodeInvalidRequest, "URL does not parse", err)
	}
	if u.Opaque != "" || u.Host == "" {
		return Target{}, newError(CodeInvalidRequest, "URL must be absolute, with a host", nil)
	}
	t := Target{Scheme: u.Scheme, path: u.Path, rawPath: u.EscapedPath(), rawQuery: escapeQuery(u.RawQuery)}
	hostname := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		hostname = "[" + hostname + "]"
	}
	host, addr, hostErr := normalizeHost(hostname)
	if hostErr == nil {
		t.Host, t.Addr = host, addr
	} else {
		t.Host = recordHost(u.Hostname())
	}
	portErr := t.setPort(u.Port())
	switch {
	case t.Scheme != "http" && t.Scheme != "https":
		return t, newError(CodeDeniedScheme, "scheme "+strconv.Quote(recordHost(u.Scheme))+" is not allowed: only http and https", nil)
	case u.User != nil:
		return t, newError(CodeUserinfo, "URLs with user information (user:password@) are not allowed", nil)
	case errors.Is(hostErr, errZone):
		return t, newError(CodeDeniedAddress, hostErr.Error(), nil)
	case hostErr != nil:
		return t, newError(CodeInvalidRequest, "invalid host "+strconv.Quote(t.Host), hostErr)
	case portErr != nil:
		return t, newError(CodeInvalidRequest, portErr.Error(), nil)
	}
	return t, nil
}

func (t *Target) setPort(port string) error {
	if port == "" {
		t.Port = defaultPort(t.Scheme)
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("port " + strconv.Quote(recordHost(port)) + " is not in 1-65535")
	}
	t.Port = n
	return nil
}

// recordHost bounds and lower-cases an unchecked string so it can go into
// an error message or an attempt record.
func recordHost(s string) string {
	const limit = 255
	if len(s) > limit {
		s = s[:limit]
	}
	return strings.ToLower(strings.ToValidUTF8(s, "\uFFFD"))
}

// escapeQuery percent-encodes every byte of a raw query that may not
// appear in one (spaces, quotes, non-ASCII, a '%' not starting an escape),
// so the request line carries a well-formed URI and the normalised URL
// parses back to itself.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0 ||
			c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2])
		if ok {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(q)+8), q[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return q
	}
	return string(b)
}

func isHex(c byte) bool {
	_, ok := digit(c, 16)
	return ok
}
