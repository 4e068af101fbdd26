package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

type inner struct {
	Name string `json:"name"`
	N    int    `json:"n,omitempty"`
}

type Embedded struct {
	Kind string `json:"kind"`
}

type target struct {
	Embedded
	ID      string            `json:"id"`
	Count   int8              `json:"count"`
	Ratio   float64           `json:"ratio"`
	Flag    bool              `json:"flag"`
	Inner   *inner            `json:"inner"`
	List    []inner           `json:"list"`
	Headers map[string]string `json:"headers"`
	Raw     json.RawMessage   `json:"raw"`
	Any     any               `json:"any"`
	Num     json.Number       `json:"num"`
	When    time.Time         `json:"when"`
	Bytes   []byte            `json:"bytes"`
	Untag   string
	skipped string //nolint:unused // unexported fields are never decoded
}

func TestUnmarshal(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want target
	}{
		{"every kind", `{"kind":"k","id":"a\u00e9\n","count":-128,"ratio":1.5e2,"flag":true,"inner":{"name":"x","n":3},
			"list":[{"name":"y"}],"headers":{"A":"1"},"raw":  [1, {"b":2}] ,"any":{"z":[1.0,null]},"num":12345678901234567890,
			"when":"2026-01-02T03:04:05Z","bytes":"aGk=","Untag":"u"}`,
			target{Embedded: Embedded{Kind: "k"}, ID: "a\u00e9\n", Count: -128, Ratio: 150, Flag: true, Inner: &inner{Name: "x", N: 3},
				List: []inner{{Name: "y"}}, Headers: map[string]string{"A": "1"}, Raw: json.RawMessage(`[1, {"b":2}]`),
				Any: map[string]any{"z": []any{json.Number("1.0"), nil}}, Num: "12345678901234567890", When: when, Bytes: []byte("hi"), Untag: "u"}},
		{"nulls where allowed", `{"inner":null,"list":null,"headers":null,"raw":null,"any":null}`,
			target{Raw: json.RawMessage("null")}},
		{"surrogate pair", `{"id":"\ud83d\ude00"}`, target{ID: "\U0001F600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got target
			if err := strictjson.Unmarshal([]byte(tt.in), &got, strictjson.Limits{}); err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unmarshal(%s)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	tests := []struct {
		name, in, code, path string
	}{
		{"unknown member", `{"id":"a","extra":1}`, strictjson.CodeUnknownField, "/extra"},
		{"upper-case field name", `{"ID":"a"}`, strictjson.CodeFieldCase, "/ID"},
		{"long s folds onto s", `{"inner":{"name":"x"},"li\u017ft":[]}`, strictjson.CodeFieldCase, "/li\u017ft"},
		{"kelvin sign folds onto k", `{"\u212aind":"x"}`, strictjson.CodeFieldCase, "/\u212aind"},
		{"case variant siblings in a map", `{"headers":{"A":"1","a":"2"}}`, strictjson.CodeCaseVariantKey, "/headers"},
		{"duplicate", `{"id":"a","id":"b"}`, strictjson.CodeDuplicateKey, ""},
		{"null into string", `{"id":null}`, strictjson.CodeType, "/id"},
		{"null into struct", `{"when":null}`, strictjson.CodeType, "/when"},
		{"string into int", `{"count":"1"}`, strictjson.CodeType, "/count"},
		{"int overflow", `{"count":128}`, strictjson.CodeNumber, "/count"},
		{"fraction into int", `{"count":1.5}`, strictjson.CodeNumber, "/count"},
		{"float beyond range", `{"ratio":1e999}`, strictjson.CodeNumber, "/ratio"},
		{"object into list", `{"list":{}}`, strictjson.CodeType, "/list"},
		{"bad element", `{"list":[{"name":1}]}`, strictjson.CodeType, "/list/0/name"},
		{"bad time", `{"when":"yesterday"}`, strictjson.CodeType, "/when"},
		{"bad base64", `{"bytes":"!!"}`, strictjson.CodeType, "/bytes"},
		{"unexported field", `{"skipped":"x"}`, strictjson.CodeUnknownField, "/skipped"},
		{"not an object", `[1]`, strictjson.CodeType, ""},
		{"trailing data", `{} {}`, strictjson.CodeTrailing, ""},
		{"syntax", `{"id":}`, strictjson.CodeSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got target
			err := strictjson.Unmarshal([]byte(tt.in), &got, strictjson.Limits{})
			se, ok := errors.AsType[*strictjson.Error](err)
			if !ok {
				t.Fatalf("Unmarshal(%s) = %v, want a *strictjson.Error", tt.in, err)
			}
			if se.Code != tt.code || (tt.path != "" && se.Path != tt.path) {
				t.Errorf("Unmarshal(%s) = %v (code %q, path %q), want code %q at %q", tt.in, err, se.Code, se.Path, tt.code, tt.path)
			}
		})
	}
}

func TestUnmarshalAllowUnknown(t *testing.T) {
	var got inner
	lim := strictjson.Limits{AllowUnknownFields: true}
	if err := strictjson.Unmarshal([]byte(`{"name":"a","other":{"x":1}}`), &got, lim); err != nil || got.Name != "a" {
		t.Fatalf("Unmarshal with an unknown member = %+v, %v; want name a, nil", got, err)
	}
	// A member that folds onto a field is refused even so: encoding/json
	// would read it into that field.
	err := strictjson.Unmarshal([]byte(`{"Name":"a"}`), &got, lim)
	if se, ok := errors.AsType[*strictjson.Error](err); !ok || se.Code != strictjson.CodeFieldCase {
		t.Errorf("Unmarshal(Name) with AllowUnknownFields = %v, want %s", err, strictjson.CodeFieldCase)
	}
}

func TestUnmarshalAll(t *testing.T) {
	var got target
	errs := strictjson.UnmarshalAll([]byte(`{"id":1,"count":"x","RATIO":2,"flag":true}`), &got, strictjson.Limits{})
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path)
	}
	if want := []string{"/id", "/count", "/RATIO"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("UnmarshalAll paths = %q, want %q", paths, want)
	}
	if !got.Flag {
		t.Errorf("UnmarshalAll left flag unset; the members without problems are decoded")
	}
}

func TestMembers(t *testing.T) {
	m, err := strictjson.Members([]byte(`{"alg":"RS256","kid":"k1","n":[1]}`), strictjson.Limits{})
	if err != nil || string(m["n"]) != "[1]" || string(m["alg"]) != `"RS256"` {
		t.Fatalf("Members = %v, %v", m, err)
	}
	for _, in := range []string{`null`, `[1]`, `"x"`, `{"a":1,"A":2}`} {
		if _, err := strictjson.Members([]byte(in), strictjson.Limits{}); err == nil {
			t.Errorf("Members(%s) = nil error, want a refusal", in)
		}
	}
}

// FuzzUnmarshal checks that whatever Unmarshal accepts, encoding/json
// decodes to the same value, and that Unmarshal never panics.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","count":1,"list":[{"name":"x"}],"headers":{"a":"b"},"raw":{"q":1},"any":[1,"s",null]}`,
		`{"ID":"a"}`, `{"ratio":1e999}`, `{"inner":{"name":"\u017f"}}`, `{"num":1.5e3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got target
		if err := strictjson.Unmarshal(data, &got, strictjson.Limits{}); err != nil {
			if _, ok := errors.AsType[*strictjson.Error](err); !ok {
				t.Fatalf("Unmarshal(%q) error %T is not a *strictjson.Error", data, err)
			}
			return
		}
		var want target
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("Unmarshal accepted %q, encoding/json refuses it: %v", data, err)
		}
		if len(got.Raw) > 0 {
			// encoding/json keeps the raw value as written too.
			if string(got.Raw) != string(want.Raw) {
				t.Fatalf("raw = %s, encoding/json %s", got.Raw, want.Raw)
			}
		}
		got.Raw, want.Raw = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Unmarshal(%q)\n got %#v\nwant %#v", data, got, want)
		}
	})
}

func TestUnchecked(t *testing.T) {
	lim := strictjson.Limits{RejectCaseVariants: true, Unchecked: "/params/arguments"}
	for _, tt := range []struct {
		in   string
		code string // "" accepted
	}{
		{`{"params":{"arguments":{"a":1,"a":2,"A":{"b":1,"b":2}}}}`, ""},
		{`{"params":{"arguments":[{"a":1,"a":2}]}}`, ""},
		{`{"params":{"arguments":{},"name":1,"name":2}}`, strictjson.CodeDuplicateKey},
		{`{"params":{"other":{"a":1,"a":2}}}`, strictjson.CodeDuplicateKey},
		{`{"x":{"arguments":{"a":1,"a":2}}}`, strictjson.CodeDuplicateKey},
		{`{"params":{"arguments":{"a":1,"a":2}},"Params":1}`, strictjson.CodeCaseVariantKey},
		{`{"params":{"arguments":{"a":"\ud800"}}}`, strictjson.CodeUTF8},
	} {
		err := strictjson.Check([]byte(tt.in), lim)
		code := ""
		if se, ok := errors.AsType[*strictjson.Error](err); ok {
			code = se.Code
		}
		if code != tt.code {
			t.Errorf("Check(%s, Unchecked /params/arguments) = %v, want code %q", tt.in, err, tt.code)
		}
	}
}

func TestUnmarshalOpen(t *testing.T) {
	type params struct {
		strictjson.Open
		Name string `json:"name"`
	}
	var p struct {
		Params params `json:"params"`
	}
	if err := strictjson.Unmarshal([]byte(`{"params":{"name":"a","extra":[1]}}`), &p, strictjson.Limits{}); err != nil || p.Params.Name != "a" {
		t.Errorf("Unmarshal into an Open struct = %+v, %v; want the unknown member skipped", p, err)
	}
	for in, code := range map[string]string{
		`{"params":{"Name":"a"}}`: strictjson.CodeFieldCase,
		`{"params":{},"other":1}`: strictjson.CodeUnknownField,
	} {
		err := strictjson.Unmarshal([]byte(in), &p, strictjson.Limits{})
		if se, ok := errors.AsType[*strictjson.Error](err); !ok || se.Code != code {
			t.Errorf("Unmarshal(%s) = %v, want %s", in, err, code)
		}
	}
}
