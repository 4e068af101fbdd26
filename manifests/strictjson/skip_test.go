package strictjson

import (
	"bytes"
	"testing"
)

func TestSkipValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want int
	}{
		{`"abc",1`, 0, 5},
		{`"a\"b"x`, 0, 6},
		{`"a\\"x`, 0, 5},
		{`"a\\\"b"`, 0, 8},
		{`{"k":"}]","a":[1,{"b":"["}]} ,`, 0, 28},
		{`[[],{}] `, 0, 7},
		{`123 }`, 0, 3},
		{`-1.5e3,`, 0, 6},
		{`true]`, 0, 4},
		{`{"k":1}`, 5, 6},
		{`"open`, 0, -1},
		{`{"k":[1,2}`, 0, -1},
		{`123`, 0, -1},
		{``, 0, -1},
	} {
		if got := SkipValue([]byte(tc.in), tc.at); got != tc.want {
			t.Errorf("SkipValue(%q, %d) = %d, want %d", tc.in, tc.at, got, tc.want)
		}
	}
}

// FuzzSkipValue checks SkipValue against Check: in a document Check
// accepts, the value that starts after leading whitespace ends where only
// whitespace is left.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":"\"}"}`, ` [1, {"b":[]}] `, `"x\\"`, `12 `, `{"k":"\u005c"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b, Limits{MaxBytes: len(b) + 1, MaxDepth: 1000}) != nil {
			return
		}
		start := len(b) - len(bytes.TrimLeft(b, " \t\n\r"))
		end := SkipValue(append(bytes.Clone(b), ' '), start) // a scalar needs a delimiter
		if rest := bytes.TrimSpace(b[min(max(end, 0), len(b)):]); end < 0 || len(rest) != 0 {
			t.Fatalf("SkipValue(%q, %d) = %d, leaving %q", b, start, end, rest)
		}
	})
}
