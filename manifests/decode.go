package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// document is a manifest file read as far as JSON: its canonical JSON and
// the generic value of it.
type document struct {
	json []byte
	tree map[string]any
}

// readDocument turns a file into a document, or reports why it cannot.
func readDocument(data []byte, ps *problems) (*document, bool) {
	js, err := toJSON(data, ps.file)
	if err != nil {
		var se *sourceError
		if errors.As(err, &se) {
			ps.add(se.field, se.why)
		} else {
			ps.add("", err.Error())
		}
		return nil, false
	}
	v, err := strictjson.Decode(js, strictjson.Limits{MaxBytes: maxJSONBytes, MaxDepth: maxDepth, RejectCaseVariants: true})
	if err != nil {
		se := jsonProblem(err, false)
		ps.add(se.field, se.why)
		return nil, false
	}
	tree, ok := v.(map[string]any)
	if !ok {
		ps.add("", fmt.Sprintf("a manifest must be a mapping, not %s", jsonType(v)))
		return nil, false
	}
	return &document{json: js, tree: tree}, true
}

// has reports whether the member at path is present in the tree.
func (d *document) has(path ...string) bool {
	var v any = d.tree
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[p]; !ok {
			return false
		}
	}
	return true
}

// decodeInto checks the tree against the JSON tags of dst's type (exact,
// case-sensitive names; no unknown fields; right JSON types; custom
// decoders run with the field's path), reporting every problem in the
// manifest's own words, and, if all is well, decodes the document into dst
// with strictjson.Unmarshal, the one reader of JSON text.
func decodeInto(d *document, dst any, ps *problems) bool {
	before := len(ps.list)
	checkValue(d.tree, reflect.TypeOf(dst).Elem(), "", ps)
	if len(ps.list) > before {
		return false
	}
	if err := strictjson.Unmarshal(d.json, dst, strictjson.Limits{MaxBytes: maxJSONBytes, MaxDepth: maxDepth}); err != nil {
		// Unreachable when checkValue passed; fail closed regardless.
		ps.add("", "cannot decode: "+err.Error())
		return false
	}
	return true
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// checkValue checks the decoded JSON value v against Go type t at path.
func checkValue(v any, t reflect.Type, path string, ps *problems) {
	if t == rawMessageType {
		return // opaque: schemas are checked by the schema compiler
	}
	if v == nil {
		ps.add(path, "must not be null")
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Pointer && t.Implements(unmarshalerType) {
		checkUnmarshaler(v, t, path, ps)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkValue(v, t.Elem(), path, ps)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(path, "must be a mapping, not "+jsonType(v))
			return
		}
		checkStruct(m, t, path, ps)
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			ps.add(path, "must be a list, not "+jsonType(v))
			return
		}
		for i, e := range list {
			checkValue(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", ps)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(path, "must be a mapping, not "+jsonType(v))
			return
		}
		for _, k := range sortedKeys(m) {
			checkValue(m[k], t.Elem(), join(path, k), ps)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			ps.add(path, "must be a string, not "+jsonType(v))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := v.(json.Number)
		if !ok {
			ps.add(path, "must be an integer, not "+jsonType(v))
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			ps.add(path, fmt.Sprintf("%s is not an integer in range", clip(string(n))))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			ps.add(path, "must be true or false, not "+jsonType(v))
		}
	default:
		ps.add(path, fmt.Sprintf("cannot decode into %s", t))
	}
}

// checkStruct checks the members of m against the JSON names of t's fields.
func checkStruct(m map[string]any, t reflect.Type, path string, ps *problems) {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f
	}
	for _, k := range sortedKeys(m) {
		f, ok := fields[k]
		if !ok {
			why := "unknown field"
			for name := range fields {
				if strings.EqualFold(name, k) {
					why += fmt.Sprintf(" (did you mean %q? names are case-sensitive)", name)
					break
				}
			}
			ps.add(join(path, k), why)
			continue
		}
		checkValue(m[k], f.Type, join(path, k), ps)
	}
}

// checkUnmarshaler runs t's UnmarshalJSON on v so that its error is
// reported with the field's path.
func checkUnmarshaler(v any, t reflect.Type, path string, ps *problems) {
	raw, err := json.Marshal(v)
	if err != nil {
		ps.add(path, "cannot re-encode: "+err.Error())
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	u := reflect.New(t).Interface().(json.Unmarshaler)
	if err := u.UnmarshalJSON(raw); err != nil {
		ps.add(path, err.Error())
	}
}
