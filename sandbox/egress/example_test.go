package egress_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

func ExampleParseAllowlist() {
	allow, err := egress.ParseAllowlist([]string{"*.Wikipedia.org:443", "http://127.0.0.1/32:8080"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(allow.Patterns())
	fmt.Println(allow.Allows("https", "en.wikipedia.org", 443))
	fmt.Println(allow.Allows("https", "wikipedia.org", 443)) // a wildcard never matches its base
	fmt.Println(allow.Allows("http", "0x7f.1", 8080))        // 127.0.0.1, named by IP
	// Output:
	// [https://*.wikipedia.org:443 http://127.0.0.1:8080]
	// true
	// false
	// true
}

func ExampleCheck() {
	for _, u := range []string{
		"HTTPS://Bücher.Example./a?b=c",
		"http://2130706433:8080/",
		"http://[::ffff:169.254.169.254]/",
		"http://user:secret@example.com/",
	} {
		t, err := egress.Check(u)
		if se, ok := errors.AsType[*sandbox.Error](err); ok {
			fmt.Println(se.Code)
			continue
		}
		fmt.Println(t.Host, t.Port, t)
	}
	// Output:
	// xn--bcher-kva.example 443 https://xn--bcher-kva.example/a?b=c
	// 127.0.0.1 8080 http://127.0.0.1:8080/
	// 169.254.169.254 80 http://169.254.169.254/
	// egress.userinfo
}

func ExampleClassify() {
	for _, a := range []string{"8.8.8.8", "169.254.169.254", "64:ff9b::a9fe:a9fe", "fd00::1"} {
		fmt.Println(a, egress.Classify(netip.MustParseAddr(a)))
	}
	// Output:
	// 8.8.8.8 public
	// 169.254.169.254 link-local
	// 64:ff9b::a9fe:a9fe link-local
	// fd00::1 unique-local
}
