package strictjson

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name   string
		in     string
		lim    Limits
		code   string // "" means accepted
		offset int64
		path   string
	}{
		{name: "object", in: `{"a":1,"b":[true,false,null,"x",-0.5e+3]}`},
		{name: "surrounding whitespace", in: " \t\r\n{} \n"},
		{name: "scalar", in: `"just a string"`},
		{name: "number", in: `-12.5E-3`},
		{name: "escapes", in: `{"a\"b":"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`},
		{name: "raw utf8", in: `{"é":"日本語 😀"}`},
		{name: "nul escape", in: `["\u0000"]`},
		{name: "case variants allowed by default", in: `{"id":1,"ID":2}`},
		{name: "same key in sibling objects", in: `[{"a":1},{"a":2}]`},
		{name: "same key at different depths", in: `{"a":{"a":{"a":1}}}`},
		{name: "many distinct keys", in: manyKeys(100, "")},
		{name: "depth at the limit", in: deep(64)},
		{name: "size at the limit", in: `[1]`, lim: Limits{MaxBytes: 3}},

		{name: "empty", in: "", code: CodeSyntax},
		{name: "only whitespace", in: "  ", code: CodeSyntax, offset: 2},
		{name: "duplicate key", in: `{"x":{"y":{"a":1,"a":2}}}`, code: CodeDuplicateKey, offset: 17, path: "/x/y"},
		{name: "duplicate key after unescaping", in: `{"a":1,"\u0061":2}`, code: CodeDuplicateKey, offset: 7},
		{name: "duplicate key in big object", in: manyKeys(40, `"k7"`), code: CodeDuplicateKey},
		{name: "duplicate key inside array", in: `[0,{"a":1,"a":1}]`, code: CodeDuplicateKey, path: "/1", offset: 10},
		{name: "case variant", in: `{"name":1,"Name":2}`, lim: Limits{RejectCaseVariants: true}, code: CodeCaseVariantKey, offset: 10},
		{name: "long s folds to s", in: `{"s":1,"ſ":2}`, lim: Limits{RejectCaseVariants: true}, code: CodeCaseVariantKey},
		{name: "kelvin folds to k", in: `{"k":1,"\u212a":2}`, lim: Limits{RejectCaseVariants: true}, code: CodeCaseVariantKey},
		{name: "case variant in big object", in: manyKeys(40, `"K7"`), lim: Limits{RejectCaseVariants: true}, code: CodeCaseVariantKey},
		{name: "kelvin in big object", in: manyKeys(40, `"\u212a7"`), lim: Limits{RejectCaseVariants: true}, code: CodeCaseVariantKey},
		{name: "trailing value", in: `{} {}`, code: CodeTrailing, offset: 3},
		{name: "trailing garbage", in: `1 x`, code: CodeTrailing, offset: 2},
		{name: "leading zero", in: `01`, code: CodeSyntax},
		{name: "bare minus", in: `-`, code: CodeSyntax},
		{name: "dot without digits", in: `1.`, code: CodeSyntax},
		{name: "exponent without digits", in: `1e+`, code: CodeSyntax},
		{name: "plus sign", in: `+1`, code: CodeSyntax},
		{name: "hex number", in: `0x10`, code: CodeSyntax},
		{name: "NaN", in: `NaN`, code: CodeSyntax},
		{name: "truthy", in: `truex`, code: CodeSyntax},
		{name: "short literal", in: `nul`, code: CodeSyntax},
		{name: "single quotes", in: `{'a':1}`, code: CodeSyntax},
		{name: "trailing comma in object", in: `{"a":1,}`, code: CodeSyntax},
		{name: "trailing comma in array", in: `[1,]`, code: CodeSyntax},
		{name: "missing colon", in: `{"a" 1}`, code: CodeSyntax},
		{name: "unquoted key", in: `{a:1}`, code: CodeSyntax},
		{name: "unterminated string", in: `"abc`, code: CodeSyntax},
		{name: "unterminated object", in: `{"a":1`, code: CodeSyntax, offset: 6},
		{name: "control character", in: "\"a\tb\"", code: CodeSyntax},
		{name: "bad escape", in: `"\x41"`, code: CodeSyntax},
		{name: "short unicode escape", in: `"\u12"`, code: CodeSyntax},
		{name: "comment", in: `{} // no`, code: CodeTrailing},
		{name: "byte order mark", in: "\ufeff{}", code: CodeSyntax},
		{name: "invalid utf8 in string", in: "{\"a\":\"\xff\"}", code: CodeUTF8, offset: 6, path: "/a"},
		{name: "invalid utf8 in key", in: "{\"\xc3\":1}", code: CodeUTF8, offset: 2},
		{name: "utf8-encoded surrogate", in: "\"\xed\xa0\x80\"", code: CodeUTF8, offset: 1},
		{name: "overlong encoding", in: "\"\xc0\xaf\"", code: CodeUTF8},
		{name: "invalid utf8 outside strings", in: "[\xff]", code: CodeUTF8, offset: 1, path: "/0"},
		{name: "lone high surrogate", in: `["\ud800"]`, code: CodeUTF8, offset: 2, path: "/0"},
		{name: "lone low surrogate", in: `{"a":"\udc00"}`, code: CodeUTF8, path: "/a", offset: 6},
		{name: "high surrogate then non-surrogate", in: `"\ud800\u0041"`, code: CodeUTF8},
		{name: "two high surrogates", in: `"\ud800\ud800"`, code: CodeUTF8},
		{name: "too deep", in: deep(65), code: CodeTooDeep, offset: 64},
		{name: "too deep with a custom limit", in: `{"a":{"b":[1]}}`, lim: Limits{MaxDepth: 2}, code: CodeTooDeep, path: "/a/b", offset: 10},
		{name: "too large", in: `[1] `, lim: Limits{MaxBytes: 3}, code: CodeTooLarge, offset: 3},
		{name: "path escapes", in: `{"a/b":{"c~d":[1,2,}}}`, code: CodeSyntax, path: "/a~1b/c~0d/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), tt.lim)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.in, err)
				}
				if !json.Valid([]byte(tt.in)) {
					t.Fatalf("Check accepted %q, which json.Valid refuses", tt.in)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q) = %v, want *Error with code %s", tt.in, err, tt.code)
			}
			if e.Code != tt.code || e.ReasonCode() != tt.code {
				t.Errorf("Check(%q) code = %q, want %q (%v)", tt.in, e.Code, tt.code, err)
			}
			if tt.path != "" && e.Path != tt.path {
				t.Errorf("Check(%q) path = %q, want %q (%v)", tt.in, e.Path, tt.path, err)
			}
			if tt.offset != 0 && e.Offset != tt.offset {
				t.Errorf("Check(%q) offset = %d, want %d (%v)", tt.in, e.Offset, tt.offset, err)
			}
		})
	}
}

// manyKeys returns an object with n keys k0..k(n-1), plus extra as one more
// key if it is not empty.
func manyKeys(n int, extra string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k`)
		b.WriteString(itoa(i))
		b.WriteString(`":`)
		b.WriteString(itoa(i))
	}
	if extra != "" {
		b.WriteString("," + extra + ":0")
	}
	b.WriteString("}")
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		in   string
		lim  Limits
		want string
	}{
		{`{"x":{"y":{"a":1,"a":2}}}`, Limits{}, `duplicate key "a" at /x/y (offset 17)`},
		{`{"a":1,"A":2}`, Limits{RejectCaseVariants: true}, `key "A" is a case variant of key "a" (offset 7)`},
		{`[1] [2]`, Limits{}, `data after the JSON value (offset 4)`},
		{`{"a":"\ud800"}`, Limits{}, `escaped lone surrogate \ud800 in string at /a (offset 6)`},
		{`[[1]]`, Limits{MaxDepth: 1}, `nesting deeper than the limit of 1 at /0 (offset 1)`},
		{`[1,2]`, Limits{MaxBytes: 4}, `document is 5 bytes, more than the limit of 4 (offset 4)`},
	}
	for _, tt := range tests {
		err := Check([]byte(tt.in), tt.lim)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Check(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	v, err := Decode([]byte(`{"n":12345678901234567890.5,"s":"a\u00e9","l":[1,{"k":null}],"b":true}`), Limits{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("Decode returned %T, want map[string]any", v)
	}
	if n, ok := m["n"].(json.Number); !ok || n.String() != "12345678901234567890.5" {
		t.Errorf("n = %#v, want json.Number(\"12345678901234567890.5\")", m["n"])
	}
	if m["s"] != "aé" || m["b"] != true {
		t.Errorf("s, b = %#v, %#v", m["s"], m["b"])
	}
	if _, err := Decode([]byte(`{"a":1,"a":2}`), Limits{}); err == nil {
		t.Error("Decode accepted a duplicate key")
	}
	var e *Error
	if _, err := Decode([]byte(`[1,2,3]`), Limits{MaxBytes: 4}); !errors.As(err, &e) || e.Code != CodeTooLarge {
		t.Errorf("Decode over MaxBytes = %v, want %s", err, CodeTooLarge)
	}
}

func TestPointerToken(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "a/b": "a~1b", "~": "~0", "~/": "~0~1", "": ""} {
		if got := PointerToken(in); got != want {
			t.Errorf("PointerToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFoldMatchesEqualFold(t *testing.T) {
	words := []string{"a", "A", "s", "S", "ſ", "k", "K", "\u212a", "ß", "ẞ", "Σ", "σ", "ς", "é", "É", "İ", "i", "ı", "Ω", "\u2126", "ǅ", "ǆ", "Ǆ"}
	for _, a := range words {
		for _, b := range words {
			if got, want := fold([]byte(a)) == fold([]byte(b)), strings.EqualFold(a, b); got != want {
				t.Errorf("fold(%q) == fold(%q) is %v, strings.EqualFold is %v", a, b, got, want)
			}
		}
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	data := benchDoc()
	allocs := testing.AllocsPerRun(20, func() {
		if err := Check(data, Limits{RejectCaseVariants: true}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("Check allocates %v times per call on a 1 KiB object, want 0", allocs)
	}
}
