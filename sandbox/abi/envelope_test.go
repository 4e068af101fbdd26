package abi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         string
		wantResult string
		wantError  string
		wantErr    bool
	}{
		{name: "result object", in: `{"result":{"a":1}}`, wantResult: `{"a":1}`},
		{name: "result scalar", in: `{"result":"x"}`, wantResult: `"x"`},
		{name: "result null", in: `{"result":null}`, wantResult: `null`},
		{name: "whitespace kept inside, trimmed outside", in: "\n {\n\"result\" :\t[1, 2] }\n", wantResult: `[1, 2]`},
		{name: "escaped key", in: `{"\u0072esult":1}`, wantResult: `1`},
		{name: "huge number", in: `{"result":1e400}`, wantResult: `1e400`},
		{name: "error", in: `{"error":"nope"}`, wantError: "nope"},
		{name: "empty error", in: `{"error":""}`, wantError: ""},
		{name: "empty", in: ``, wantErr: true},
		{name: "blank", in: " \n", wantErr: true},
		{name: "empty object", in: `{}`, wantErr: true},
		{name: "array", in: `[{"result":1}]`, wantErr: true},
		{name: "scalar", in: `"result"`, wantErr: true},
		{name: "two members", in: `{"result":1,"error":"x"}`, wantErr: true},
		{name: "duplicate", in: `{"result":1,"result":1}`, wantErr: true},
		{name: "duplicate by escape", in: `{"result":{"a":1,"\u0061":2}}`, wantErr: true},
		{name: "nested duplicate", in: `{"result":[{"k":[{"x":1,"x":1}]}]}`, wantErr: true},
		{name: "other key", in: `{"results":1}`, wantErr: true},
		{name: "case variant", in: `{"RESULT":1}`, wantErr: true},
		{name: "folded s", in: "{\"re\u017fult\":1}", wantErr: true},
		{name: "error not string", in: `{"error":1}`, wantErr: true},
		{name: "trailing object", in: `{"result":1}{"result":2}`, wantErr: true},
		{name: "trailing garbage", in: `{"result":1} x`, wantErr: true},
		{name: "truncated", in: `{"result":[1,2`, wantErr: true},
		{name: "invalid utf-8", in: "{\"result\":\"\xc3\x28\"}", wantErr: true},
		{name: "trailing comma", in: `{"result":1,}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.in))
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("ParseEnvelope(%q) = %+v, want an error", tc.in, env)
			case !tc.wantErr && err != nil:
				t.Fatalf("ParseEnvelope(%q) error = %v", tc.in, err)
			case tc.wantErr:
				return
			}
			if tc.wantResult != "" && (env.IsError || string(env.Result) != tc.wantResult) {
				t.Errorf("ParseEnvelope(%q) = %+v, want result %s", tc.in, env, tc.wantResult)
			}
			if tc.wantResult == "" && (!env.IsError || env.Error != tc.wantError) {
				t.Errorf("ParseEnvelope(%q) = %+v, want error %q", tc.in, env, tc.wantError)
			}
		})
	}
}

func TestPublicMessage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain message", "plain message"},
		{"line one\nline two\r\n\ttabbed", "line one line two tabbed"},
		{"esc\x1b[2Jape and bell\x07", "esc[2Jape and bell"},
		{"bidi \u202eevil\u202c text \u2066x\u2069", "bidi evil text x"},
		{"  \n  ", "the tool reported an error"},
		{"", "the tool reported an error"},
		{strings.Repeat("é", 1000), strings.Repeat("é", maxPublicErrorBytes/2)},
	} {
		if got := PublicMessage(tc.in); got != tc.want {
			t.Errorf("PublicMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseEnvelope checks that parsing tool output never panics, that an
// accepted envelope has exactly one valid member, and that re-encoding an
// accepted envelope parses to the same value.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{`{"result":{"a":[1,"x",null]}}`, `{"error":"e"}`, `{"result":1,"result":2}`, `[1]`, ``, `{"result":"\u00e9"} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		env, err := ParseEnvelope(out)
		if err != nil {
			return
		}
		var re []byte
		if env.IsError {
			if !utf8.ValidString(env.Error) {
				t.Fatalf("accepted error message %q is not UTF-8", env.Error)
			}
			msg, _ := json.Marshal(env.Error)
			re = append(append([]byte(`{"error":`), msg...), '}')
		} else {
			if !json.Valid(env.Result) {
				t.Fatalf("accepted result %q is not JSON", env.Result)
			}
			re = append(append([]byte(`{"result":`), env.Result...), '}')
		}
		again, err := ParseEnvelope(re)
		if err != nil {
			t.Fatalf("re-encoded envelope %q rejected: %v", re, err)
		}
		if again.IsError != env.IsError || again.Error != env.Error || !bytes.Equal(again.Result, env.Result) {
			t.Fatalf("round trip changed %+v into %+v", env, again)
		}
	})
}
