package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies
// it; tests supply fakes.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialerConfig configures a [Dialer].
type DialerConfig struct {
	// Allow is the grant. Required: nil is an error (an empty Allowlist
	// allows nothing).
	Allow *Allowlist
	// Resolver resolves host names. Nil means net.DefaultResolver.
	Resolver Resolver
}

// dialFunc connects to one checked address; tests replace it.
type dialFunc func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)

// Dialer connects to checked targets only: it checks the grant, resolves a
// name once, checks every address the lookup returned, and connects to one
// of those checked addresses, never to a name. A second lookup can
// therefore never hand it an address that was not checked (DNS
// rebinding), and one forbidden address in an answer refuses the whole
// answer.
//
// # Notes
//
// A Dialer is safe for concurrent use. It keeps no connections.
type Dialer struct {
	allow    *Allowlist
	resolver Resolver
	dial     dialFunc
}

// NewDialer returns a Dialer for cfg.
func NewDialer(cfg DialerConfig) (*Dialer, error) {
	if cfg.Allow == nil {
		return nil, errors.New("egress: DialerConfig.Allow is nil")
	}
	d := &Dialer{allow: cfg.Allow, resolver: cfg.Resolver, dial: dialTCP}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	return d, nil
}

// Resolve checks t against the grant ([Allowlist.CheckTarget]) and returns
// the addresses it may connect to: an IP target's own address, or every
// address one lookup of the name returned, each passing
// [Allowlist.CheckAddr]. If any address fails, Resolve refuses them all
// with [CodeDeniedAddress]; a failed or empty lookup is [CodeDNS].
func (d *Dialer) Resolve(ctx context.Context, t Target) ([]netip.Addr, error) {
	if err := d.allow.CheckTarget(t); err != nil {
		return nil, err
	}
	return d.resolve(ctx, t)
}

// resolve is Resolve after the grant check.
func (d *Dialer) resolve(ctx context.Context, t Target) ([]netip.Addr, error) {
	if t.Addr.IsValid() {
		return []netip.Addr{t.Addr}, nil
	}
	addrs, err := d.resolver.LookupNetIP(ctx, "ip", t.Host)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, timeoutError(ctxErr)
		}
		return nil, newError(CodeDNS, "host "+strconv.Quote(t.Host)+" did not resolve", err)
	}
	if len(addrs) == 0 {
		return nil, newError(CodeDNS, "host "+strconv.Quote(t.Host)+" has no addresses", nil)
	}
	checked := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if err := d.allow.CheckAddr(t, a); err != nil {
			return nil, err
		}
		checked = append(checked, unwrap(a))
	}
	return checked, nil
}

// Dial checks t, resolves it once ([Dialer.Resolve]) and connects over TCP
// to the first checked address that accepts. The connection's RemoteAddr
// is the address dialled.
func (d *Dialer) Dial(ctx context.Context, t Target) (net.Conn, error) {
	addrs, err := d.Resolve(ctx, t)
	if err != nil {
		return nil, err
	}
	conn, _, err := d.dialChecked(ctx, addrs, t.Port)
	return conn, err
}

// dialChecked connects to the first of addrs (all already checked) that
// accepts.
func (d *Dialer) dialChecked(ctx context.Context, addrs []netip.Addr, port int) (net.Conn, netip.AddrPort, error) {
	var errs []error
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(port))
		conn, err := d.dial(ctx, ap)
		if err == nil {
			return conn, ap, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, netip.AddrPort{}, timeoutError(ctxErr)
		}
		errs = append(errs, err)
	}
	return nil, netip.AddrPort{}, newError(CodeConnect, "could not connect", errors.Join(errs...))
}

// dialTCP dials exactly addr. The Control hook checks, on the socket about
// to connect, that the kernel is given the address that was checked.
func dialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	want := addr.String()
	nd := net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		if address != want {
			return fmt.Errorf("egress: dialling %s, but %s was checked", address, want)
		}
		return nil
	}}
	return nd.DialContext(ctx, "tcp", want)
}

// timeoutError turns a context error into a coded one.
func timeoutError(ctxErr error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return newError(CodeTimeout, "request timed out", ctxErr)
	}
	return newError(CodeTimeout, "request cancelled", ctxErr)
}
