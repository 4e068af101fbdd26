package manifests

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

func mustCompile(t *testing.T, schema string) *Schema {
	t.Helper()
	s, err := CompileSchema(json.RawMessage(schema))
	if err != nil {
		t.Fatalf("CompileSchema(%s): %v", schema, err)
	}
	return s
}

func decode(t *testing.T, doc string) any {
	t.Helper()
	v, err := strictjson.Decode([]byte(doc), strictjson.Limits{})
	if err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	return v
}

func TestValidate(t *testing.T) {
	const fetch = `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"$defs": {"url": {"type": "string", "maxLength": 20}},
		"properties": {
			"url": {"$ref": "#/$defs/url", "pattern": "^https://"},
			"depth": {"type": "integer", "minimum": 0, "maximum": 3},
			"tags": {"type": "array", "items": {"type": "string"}},
			"opts": {"type": "object", "properties": {"a/b": {"type": "boolean"}, "c.d": {"type": "boolean"}, "e~f": {"type": "boolean"}}}
		},
		"required": ["url"],
		"additionalProperties": false
	}`
	const tuple = `{
		"$schema": "http://json-schema.org/draft-07/schema#",
		"type": "object",
		"properties": {"p": {"type": "array", "items": [{"type": "number"}, {"type": "string"}], "additionalItems": false}}
	}`
	tests := []struct {
		name   string
		schema string
		doc    string
		want   []Violation
	}{
		{name: "valid", schema: fetch, doc: `{"url": "https://a.b/", "depth": 2, "tags": ["x"]}`},
		{name: "ref siblings are enforced", schema: fetch, doc: `{"url": "ftp://a.b/"}`,
			want: []Violation{{"/url", "Does not match pattern '^https://'"}}},
		{name: "ref target is enforced", schema: fetch, doc: `{"url": "https://example.com/a/long/path"}`,
			want: []Violation{{"/url", "String length must be less than or equal to 20"}}},
		{name: "missing required member points at it", schema: fetch, doc: `{}`,
			want: []Violation{{"/url", "is required"}}},
		{name: "additional property points at it", schema: fetch, doc: `{"url": "https://a", "extra": 1}`,
			want: []Violation{{"/extra", "is not allowed"}}},
		{name: "big integer stays exact", schema: fetch, doc: `{"url": "https://a", "depth": 3.0000000000000000001}`,
			want: []Violation{{"/depth", "Invalid type. Expected: integer, given: number"}}},
		{name: "array index", schema: fetch, doc: `{"url": "https://a", "tags": ["x", 2]}`,
			want: []Violation{{"/tags/1", "Invalid type. Expected: string, given: integer"}}},
		{name: "keys with separators are escaped", schema: fetch, doc: `{"url": "https://a", "opts": {"a/b": 1, "c.d": 2, "e~f": 3}}`,
			want: []Violation{
				{"/opts/a~1b", "Invalid type. Expected: boolean, given: integer"},
				{"/opts/c.d", "Invalid type. Expected: boolean, given: integer"},
				{"/opts/e~0f", "Invalid type. Expected: boolean, given: integer"},
			}},
		{name: "root", schema: fetch, doc: `[]`,
			want: []Violation{{"", "Invalid type. Expected: object, given: array"}}},
		{name: "number too large to validate", schema: fetch, doc: `{"url": "https://a", "depth": 1e999999}`,
			want: []Violation{{"/depth", "number is too large to validate (more than 400 digits or an exponent beyond ±400)"}}},
		{name: "draft-07 tuple", schema: tuple, doc: `{"p": [1, "a", true]}`,
			want: []Violation{{"/p", "No additional items allowed on array"}}},
		{name: "draft-07 tuple valid", schema: tuple, doc: `{"p": [1, "a"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, tt.schema)
			got := s.Validate(decode(t, tt.doc))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate(%s) = %q, want %q", tt.doc, got, tt.want)
			}
		})
	}
}

func TestValidateNilSchemaAdmitsNothing(t *testing.T) {
	var s *Schema
	if v := s.Validate(map[string]any{}); len(v) != 1 {
		t.Errorf("nil Schema Validate = %v, want one violation", v)
	}
	if s.SensitivePointers() != nil || s.Declares("x") {
		t.Error("nil Schema declares or marks arguments")
	}
}

func TestCompileSchemaErrors(t *testing.T) {
	tests := []struct {
		schema string
		want   string
	}{
		{`{"type": "object", "properties": {"a": {"prefixItems": []}}}`, `/properties/a/prefixItems: keyword "prefixItems" is not supported`},
		{`{"type": "object", "properties": {"a": {"$ref": "#/$defs/x", "$defs": {}}}}`, `/properties/a/$ref: $ref "#/$defs/x" does not resolve`},
		{`{"type": "string"}`, `the arguments schema must have "type": "object" at its root`},
		{`[]`, `the arguments schema must be an object`},
		{`{"type": "object", "a": 1, "a": 2}`, `duplicate key "a"`},
		{`{"type": "object", "properties": {"x": {"$ref": "#"}}, "allOf": [{"$ref": "#"}]}`, `references loop back to this schema`},
	}
	for _, tt := range tests {
		_, err := CompileSchema(json.RawMessage(tt.schema))
		var le *LoadError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CompileSchema(%s) = %v, want a *LoadError containing %q", tt.schema, err, tt.want)
		}
	}
	// Recursion that descends into the value is fine.
	mustCompile(t, `{"type": "object", "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}}, "properties": {"root": {"$ref": "#/$defs/node"}}}`)
}

// TestCompileSchemaNeverFetches checks that neither a remote $ref nor an
// $id naming a server makes the validator fetch anything.
func TestCompileSchemaNeverFetches(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "string"}`))
	}))
	defer srv.Close()
	if _, err := CompileSchema(json.RawMessage(`{"type": "object", "properties": {"a": {"$ref": "` + srv.URL + `/s.json"}}}`)); err == nil {
		t.Error("CompileSchema accepted a remote $ref")
	}
	s := mustCompile(t, `{"$id": "`+srv.URL+`/root.json", "type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}`)
	if v := s.Validate(decode(t, `{"a": "x"}`)); len(v) != 1 || v[0].Pointer != "/a" {
		t.Errorf("Validate = %v, want one violation at /a", v)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the schema server was fetched %d times, want 0", n)
	}
}

func TestSensitivePointers(t *testing.T) {
	s := mustCompile(t, `{
		"type": "object",
		"$defs": {"cred": {"type": "object", "properties": {"secret": {"type": "string", "sensitive": true}, "user": {"type": "string"}}},
		          "unused": {"sensitive": true}},
		"properties": {
			"token": {"type": "string", "sensitive": true},
			"plain": {"type": "string", "sensitive": false},
			"auth": {"$ref": "#/$defs/cred"},
			"keys": {"type": "array", "items": {"type": "string", "sensitive": true}},
			"either": {"anyOf": [{"type": "string", "sensitive": true}, {"type": "integer"}]}
		}
	}`)
	want := []string{"/auth/secret", "/either", "/keys/-", "/token"}
	if got := s.SensitivePointers(); !reflect.DeepEqual(got, want) {
		t.Errorf("SensitivePointers() = %q, want %q", got, want)
	}
	if got := mustCompile(t, `{"type": "object"}`).SensitivePointers(); len(got) != 0 {
		t.Errorf("SensitivePointers() = %q, want none", got)
	}
}

func TestDeclares(t *testing.T) {
	s := mustCompile(t, `{"type": "object", "properties": {"a": {}}, "allOf": [{"properties": {"b": {}}}, {"$ref": "#/$defs/c"}], "$defs": {"c": {"properties": {"c": {}}}}}`)
	for name, want := range map[string]bool{"a": true, "b": true, "c": true, "d": false} {
		if got := s.Declares(name); got != want {
			t.Errorf("Declares(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidateConcurrently(t *testing.T) {
	s := mustCompile(t, `{"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}}}`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				doc := map[string]any{"n": json.Number(strings.Repeat("1", 1+(i+j)%3))}
				v := s.Validate(doc)
				if (len(v) == 0) != ((i+j)%3 == 0) {
					t.Errorf("Validate(%v) = %v", doc, v)
				}
			}
		})
	}
	wg.Wait()
}
