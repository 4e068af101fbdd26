package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestRunWritesOneEnvelope(t *testing.T) {
	echo := func(_ context.Context, raw json.RawMessage) (any, error) {
		var a struct {
			Text string `json:"text"`
		}
		if err := Decode(raw, &a); err != nil {
			return nil, err
		}
		if a.Text == "fail" {
			return nil, errors.New("asked to fail")
		}
		if a.Text == "nan" {
			return math.NaN(), nil
		}
		return map[string]string{"text": a.Text}, nil
	}
	for _, tc := range []struct {
		name, stdin, want string
	}{
		{"result", `{"text":"a<b>&c"}`, `{"result":{"text":"a<b>&c"}}` + "\n"},
		{"tool error", `{"text":"fail"}`, `{"error":"asked to fail"}` + "\n"},
		{"decode error", `{"text":1}`, `{"error":"decode arguments: must be a string, not a number at /text (offset 8)"}` + "\n"},
		{"unencodable result", `{"text":"nan"}`, `{"error":"encode result: json: unsupported value: NaN"}` + "\n"},
		{"not an object", `[1]`, `{"error":"arguments are not a JSON object"}` + "\n"},
		{"not json", `{"text":`, `{"error":"arguments are not a JSON object"}` + "\n"},
		{"empty", ``, `{"error":"arguments are not a JSON object"}` + "\n"},
		{"too large", `{"text":"` + strings.Repeat("x", MaxArgsBytes) + `"}`, `{"error":"arguments exceed 8388608 bytes"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(context.Background(), strings.NewReader(tc.stdin), &out, echo); code != 0 {
				t.Errorf("run exit status = %d, want 0", code)
			}
			if out.String() != tc.want {
				t.Errorf("run stdout = %s, want %s", out.String(), tc.want)
			}
		})
	}
}

func TestRunEmptyErrorMessage(t *testing.T) {
	var out bytes.Buffer
	run(context.Background(), strings.NewReader(`{}`), &out, func(context.Context, json.RawMessage) (any, error) {
		return nil, errors.New("")
	})
	if want := `{"error":"tool failed"}` + "\n"; out.String() != want {
		t.Errorf("run stdout = %s, want %s", out.String(), want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestRunReportsUnwritableStdout(t *testing.T) {
	code := run(context.Background(), strings.NewReader(`{}`), failingWriter{}, func(context.Context, json.RawMessage) (any, error) {
		return 1, nil
	})
	if code != 1 {
		t.Errorf("run exit status with failing stdout = %d, want 1", code)
	}
}

type inner struct {
	Name string `json:"name"`
}

type Embedded struct {
	Shared string `json:"shared"`
	Own    string `json:"own"`
}

type target struct {
	Embedded
	Shared  int               `json:"shared"` // shadows Embedded.Shared
	Count   int               `json:"count,omitempty"`
	Items   []inner           `json:"items"`
	Ptr     *inner            `json:"ptr"`
	Labels  map[string]inner  `json:"labels"`
	Free    any               `json:"free"`
	Raw     json.RawMessage   `json:"raw"`
	Ignored string            `json:"-"`
	Plain   string            // JSON name "Plain"
	Arr     [2]map[string]int `json:"arr"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantErr  string
	}{
		{"valid", `{"count":1,"items":[{"name":"a"}],"ptr":{"name":"b"},"labels":{"x":{"name":"c"}},"free":{"any":{"thing":1}},"raw":[1],"Plain":"p","own":"o","shared":3,"arr":[{"a":1},{"a":2}]}`, ""},
		{"empty", `{}`, ""},
		{"unknown top", `{"extra":1}`, `unknown member "extra"`},
		{"unknown nested", `{"items":[{"name":"a","x":1}]}`, `unknown member "x" at /items/0/x`},
		{"unknown in map value", `{"labels":{"k":{"nam":"a"}}}`, `unknown member "nam" at /labels/k/nam`},
		{"case variant", `{"Count":1}`, `member "Count" differs from "count" only in case`},
		{"case variant nested", `{"ptr":{"NAME":"a"}}`, `member "NAME" differs from "name" only in case`},
		{"folded k", "{\"coun\u0074\":1,\"\u212aey\":1}", "unknown member \"\u212aey\""},
		{"ignored field", `{"Ignored":"x"}`, `unknown member "Ignored"`},
		{"go name of tagged field", `{"Items":[]}`, `member "Items" differs from "items" only in case`},
		{"duplicate", `{"count":1,"count":2}`, `duplicate key "count"`},
		{"duplicate by escape", `{"count":1,"\u0063ount":2}`, `duplicate key "count"`},
		{"duplicate in free", `{"free":{"a":1,"a":2}}`, `duplicate key "a" at /free`},
		{"duplicate in raw", `{"raw":{"a":1,"a":2}}`, `duplicate key "a" at /raw`},
		{"trailing", `{} {}`, `data after the JSON value`},
		{"wrong type", `{"count":"x"}`, `must be a number, not a string at /count`},
		{"big number in free", `{"free":1e400}`, ""}, // kept as json.Number
		{"big number in an int", `{"count":1e400}`, `1e400 is not an integer that fits int at /count`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v target
			err := Decode(json.RawMessage(tc.in), &v)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.wantErr == "") != (got == "") || !strings.Contains(got, tc.wantErr) || (got != "" && !strings.HasPrefix(got, "decode arguments: ")) {
				t.Errorf("Decode(%s) error = %q, want %q", tc.in, got, tc.wantErr)
			}
		})
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	var v target
	if err := Decode(json.RawMessage(`{}`), v); err == nil {
		t.Errorf("Decode into a non-pointer: error = nil, want one")
	}
	if err := Decode(json.RawMessage(`{}`), (*target)(nil)); err == nil {
		t.Errorf("Decode into a nil pointer: error = nil, want one")
	}
}

// FuzzDecode checks that Decode never panics, and that what it accepts
// re-encodes to arguments it accepts again with the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"count":1,"items":[{"name":"a"}]}`, `{"count":1,"count":2}`, `{"COUNT":1}`, `{"free":{"a":[1,{"b":null}]}}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v target
		if err := Decode(in, &v); err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			return // e.g. a RawMessage that is not valid on its own
		}
		var again target
		if err := Decode(out, &again); err != nil {
			t.Fatalf("Decode(%s) accepted, re-encoded %s rejected: %v", in, out, err)
		}
		if !reflect.DeepEqual(normalize(t, v), normalize(t, again)) {
			t.Fatalf("round trip changed %+v into %+v", v, again)
		}
	})
}

// normalize re-encodes v so that RawMessage formatting does not matter.
func normalize(t *testing.T, v target) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
