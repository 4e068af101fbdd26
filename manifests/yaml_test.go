package manifests

import (
	"strings"
	"testing"
)

func TestToJSON(t *testing.T) {
	tests := []struct {
		name string
		file string
		in   string
		want string
	}{
		{name: "block mapping keeps order", in: "b: 1\na: [x, 'y', \"z\"]\n", want: `{"b":1,"a":["x","y","z"]}`},
		{name: "scalars", in: "i: 0x1F\no: 0o17\nu: 1_000\nf: .5\ne: 1e3\nbig: 123456789012345678901234567890\nt: true\nn: null\ns: '012'\n",
			want: `{"i":31,"o":15,"u":1000,"f":0.5,"e":1e3,"big":123456789012345678901234567890,"t":true,"n":null,"s":"012"}`},
		{name: "block scalars", in: "a: |\n  one\n  two\nb: >\n  folded\n  line\n", want: `{"a":"one\ntwo\n","b":"folded line\n"}`},
		{name: "crlf line endings", in: "a: |\r\n  one\r\n  two\r\nb: x\r\n", want: `{"a":"one\ntwo\n","b":"x"}`},
		{name: "escapes", in: "a: \"tab\\there \\u00e9 \\\"q\\\" \\\\\"\n", want: `{"a":"tab\there é \"q\" \\"}`},
		{name: "integer keys are text", in: "200: ok\n", want: `{"200":"ok"}`},
		{name: "json is read as json", in: " {\"a\" : [1.50, \"\\u003c\\/\\ud83d\\ude00\"] }\n", want: `{"a":[1.50,"</😀"]}`},
		{name: "json file", file: "x.json", in: "{\"a\":true}", want: `{"a":true}`},
		{name: "flow yaml that is not json", in: "{a: 1, b: [x]}", want: `{"a":1,"b":["x"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "x.yaml"
			}
			got, err := toJSON([]byte(tt.in), file)
			if err != nil || string(got) != tt.want {
				t.Errorf("toJSON(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestToJSONRefuses(t *testing.T) {
	tests := []struct {
		name string
		file string
		in   string
		want string
	}{
		{name: "invalid utf-8", in: "a: \"\xff\"\n", want: "file is not valid UTF-8 (byte 4)"},
		{name: "deep flow nesting", in: strings.Repeat("[", 100000), want: "YAML is nested too deeply (more than 512 levels)"},
		{name: "deep block nesting", in: strings.Repeat("- ", 100000) + "x\n", want: "YAML is nested too deeply"},
		{name: "nesting within the scan but beyond JSON's limit", in: strings.Repeat("[", 100) + strings.Repeat("]", 100), want: ""},
		{name: "infinity", in: "a: .inf\n", want: "line 1: .inf is not representable in JSON"},
		{name: "nan", in: "a: .nan\n", want: "line 1: .nan is not representable in JSON"},
		{name: "explicit key", in: "? a\n: b\n", want: "line 1: mapping keys must be plain scalars"},
		{name: "complex key", in: "? [a]\n: b\n", want: "invalid YAML"},
		{name: "same key written two ways", in: "1: a\n\"1\": b\n", want: `mapping key "1" already defined`},
		{name: "json with trailing data", file: "x.json", in: `{"a":1} x`, want: "data after the JSON value (offset 8)"},
		{name: "json with a lone surrogate", file: "x.json", in: `{"a":"\udc00"}`, want: `escaped lone surrogate \udc00 in string (offset 6)`},
		{name: "too large", in: "a: " + strings.Repeat("x", MaxFileBytes), want: "file is 1048579 bytes, more than the limit of 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "x.yaml"
			}
			got, err := toJSON([]byte(tt.in), file)
			if tt.want == "" {
				// Converted, then refused by the depth limit of strictjson.
				ps := &problems{file: file}
				if _, ok := readDocument([]byte(tt.in), ps); ok || len(ps.list) != 1 || !strings.Contains(ps.list[0].Why, "nesting deeper than the limit of 64") {
					t.Errorf("readDocument = %v, want one problem about nesting", ps.list)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("toJSON = %.40q, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestHiddenChar(t *testing.T) {
	for _, s := range []string{"plain", "tabs\tand\nnewlines", "é 日本語 😀 ‘quotes’ — dash", "emoji with ZWJ would be hidden but this has none"} {
		if h := hiddenChar(s); h != "" {
			t.Errorf("hiddenChar(%q) = %q, want none", s, h)
		}
	}
	for _, r := range []rune{0, 0x07, 0x0D, 0x1B, 0x7F, 0x80, 0x85, 0x9F, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064, 0x2066, 0x2069, 0xFEFF, 0xE0000, 0xE0041, 0xE007F} {
		if h := hiddenChar("a" + string(r) + "b"); !strings.HasPrefix(h, "hidden character") {
			t.Errorf("hiddenChar(a %U b) = %q, want a hidden character", r, h)
		}
	}
}
