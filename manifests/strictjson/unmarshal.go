package strictjson

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Reason codes [Unmarshal] adds to those of [Check].
const (
	CodeUnknownField = "json.unknown_field" // an object member that names no field of the target struct
	CodeFieldCase    = "json.field_case"    // a member that names a field only under case folding ("ID" for "id", "nam\u017fe")
	CodeType         = "json.type"          // a value of the wrong JSON type for its target, or null where a value is needed
	CodeNumber       = "json.number"        // a number out of range for its target (1e999, 300 into uint8, 1.5 into int)
)

// Unmarshal checks data with [Check] and decodes it into v, a non-nil
// pointer, the way [encoding/json.Unmarshal] would, but strictly:
//
//   - an object member must name a struct field exactly, by its json tag or
//     Go name: a member that matches a field only under case folding ("ID",
//     "Name", "nam\u017fe" for "name") is a CodeFieldCase error, one that
//     matches no field a CodeUnknownField error unless
//     [Limits.AllowUnknownFields] is set;
//   - case-variant keys are refused in every object ([Limits.RejectCaseVariants]
//     is implied), so a map holds exactly the members a reader of the same
//     document sees;
//   - null is accepted only by pointers, slices, maps, interfaces and
//     [json.RawMessage] (not by a struct with its own UnmarshalJSON, such as
//     time.Time, which encoding/json lets ignore it); a [json.Number] takes
//     only a number, never a string; numbers must fit their target exactly (no 1e999, no
//     fraction into an integer); a number decoded into an interface is a
//     [json.Number];
//   - a [json.RawMessage] receives exactly the bytes of its value, and a type
//     with its own UnmarshalJSON receives them too.
//
// The first problem is returned as an [*Error] with its JSON pointer;
// [UnmarshalAll] reports every one.
//
// # Notes
//
// Struct tags may use omitempty and omitzero (they only affect encoding);
// the ",string" option is not supported and is reported as an error.
// Unmarshal is safe for concurrent use and does not retain data, except
// that strings share no memory with it and RawMessage values are copies.
func Unmarshal(data []byte, v any, lim Limits) error {
	errs := unmarshal(data, v, lim, false)
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// UnmarshalAll is [Unmarshal] reporting every problem it finds rather
// than the first; a value with a problem is left as its zero value. A
// problem found by [Check] stops the decode and is the only one reported.
// The result is nil or holds at least one [*Error].
func UnmarshalAll(data []byte, v any, lim Limits) []*Error {
	return unmarshal(data, v, lim, true)
}

func unmarshal(data []byte, v any, lim Limits, all bool) []*Error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return []*Error{{Code: CodeType, Msg: fmt.Sprintf("cannot decode into %T: need a non-nil pointer", v)}}
	}
	lim.RejectCaseVariants = true
	if err := Check(data, lim); err != nil {
		return []*Error{err.(*Error)}
	}
	d := &decoder{data: data, all: all, allowUnknown: lim.AllowUnknownFields}
	d.space()
	d.value(rv.Elem(), "")
	return d.errs
}

// decoder decodes a document [Check] has accepted: it follows the grammar
// without re-checking it, so it never needs to report a syntax error.
type decoder struct {
	data         []byte
	i            int
	all          bool
	allowUnknown bool
	errs         []*Error
	stop         bool // a problem was found and only the first is wanted
}

func (d *decoder) fail(code string, at int, path, format string, args ...any) {
	if d.stop {
		return
	}
	d.errs = append(d.errs, &Error{Code: code, Offset: int64(at), Path: path, Msg: fmt.Sprintf(format, args...)})
	if !d.all {
		d.stop = true
	}
}

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// skip moves past the value at d.i.
func (d *decoder) skip() {
	end := SkipValue(d.data, d.i)
	if end < 0 {
		end = len(d.data)
	}
	d.i = end
}

var (
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
	unmarshalerType   = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// kindOf names the JSON type of the value starting with c, for messages.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// value decodes the value at d.i into v (settable) at path.
func (d *decoder) value(v reflect.Value, path string) {
	if d.stop {
		d.skip()
		return
	}
	start := d.i
	c := d.data[start]
	t := v.Type()

	if t == rawMessageType {
		d.skip()
		v.SetBytes(append([]byte(nil), d.data[start:d.i]...))
		return
	}
	if c == 'n' {
		d.i += len("null")
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		default:
			// Even for a type with its own UnmarshalJSON: encoding/json
			// would hand it null, and most (time.Time) ignore it.
			d.fail(CodeType, start, path, "must not be null")
		}
		return
	}
	if t == numberType {
		if c != '-' && (c < '0' || c > '9') {
			d.mismatch(start, path, "a number")
			return
		}
		d.skip()
		v.SetString(string(d.data[start:d.i]))
		return
	}
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(v.Elem(), path)
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		d.skip()
		u := v.Addr().Interface().(json.Unmarshaler)
		if err := u.UnmarshalJSON(d.data[start:d.i]); err != nil {
			d.fail(CodeType, start, path, "%s", err.Error())
		}
		return
	}
	if c == '"' && t.Kind() != reflect.String && t.Kind() != reflect.Interface && !(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) && reflect.PointerTo(t).Implements(textUnmarshalType) {
		s := d.str()
		u := v.Addr().Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(s)); err != nil {
			d.fail(CodeType, start, path, "%s", err.Error())
		}
		return
	}

	switch t.Kind() {
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.skip()
			d.fail(CodeType, start, path, "cannot decode into %s", t)
			return
		}
		d.skip()
		val, ok := build(d.data[start:d.i])
		if !ok {
			d.fail(CodeType, start, path, "cannot decode value")
			return
		}
		if val == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(val))
		}
	case reflect.Struct:
		if c != '{' {
			d.mismatch(start, path, "an object")
			return
		}
		d.object(v, path, fieldsOf(t))
	case reflect.Map:
		if c != '{' {
			d.mismatch(start, path, "an object")
			return
		}
		if t.Key().Kind() != reflect.String {
			d.skip()
			d.fail(CodeType, start, path, "cannot decode an object into %s: keys must be strings", t)
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		d.object(v, path, nil)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && c == '"' {
			s := d.str()
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				d.fail(CodeType, start, path, "must be base64: %v", err)
				return
			}
			v.SetBytes(b)
			return
		}
		if c != '[' {
			d.mismatch(start, path, "an array")
			return
		}
		d.array(v, path)
	case reflect.Array:
		if c != '[' {
			d.mismatch(start, path, "an array")
			return
		}
		d.array(v, path)
	case reflect.String:
		if c != '"' {
			d.mismatch(start, path, "a string")
			return
		}
		v.SetString(d.str())
	case reflect.Bool:
		switch {
		case c == 't':
			d.i += len("true")
			v.SetBool(true)
		case c == 'f':
			d.i += len("false")
			v.SetBool(false)
		default:
			d.mismatch(start, path, "true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		if c != '-' && (c < '0' || c > '9') {
			d.mismatch(start, path, "a number")
			return
		}
		d.skip()
		d.number(v, d.data[start:d.i], start, path)
	default:
		d.skip()
		d.fail(CodeType, start, path, "cannot decode into %s", t)
	}
}

func (d *decoder) mismatch(start int, path, want string) {
	got := kindOf(d.data[start])
	d.skip()
	d.fail(CodeType, start, path, "must be %s, not %s", want, got)
}

// number sets v from the number text lit.
func (d *decoder) number(v reflect.Value, lit []byte, at int, path string) {
	s := string(lit)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			d.fail(CodeNumber, at, path, "%s is not an integer that fits %s", clipText(s), v.Type())
			return
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			d.fail(CodeNumber, at, path, "%s is not an integer that fits %s", clipText(s), v.Type())
			return
		}
		v.SetUint(n)
	default:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil || math.IsInf(f, 0) {
			d.fail(CodeNumber, at, path, "%s is out of range for %s", clipText(s), v.Type())
			return
		}
		v.SetFloat(f)
	}
}

// object decodes the object at d.i into v: a struct when fields is not
// nil, else a map.
func (d *decoder) object(v reflect.Value, path string, fields *structFields) {
	d.i++ // {
	d.space()
	if d.data[d.i] == '}' {
		d.i++
		return
	}
	for {
		keyAt := d.i
		key := d.str()
		d.space()
		d.i++ // :
		d.space()
		childPath := path + "/" + PointerToken(key)
		switch {
		case fields == nil:
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(elem, childPath)
			kv := reflect.New(v.Type().Key()).Elem()
			kv.SetString(key)
			v.SetMapIndex(kv, elem)
		default:
			f, ok := fields.byName[key]
			switch {
			case ok && f.unsupported != "":
				d.skip()
				d.fail(CodeType, keyAt, childPath, "field %s: %s", f.goName, f.unsupported)
			case ok:
				d.value(fieldByIndex(v, f.index), childPath)
			default:
				d.skip()
				if name, found := fields.byFold[fold([]byte(key))]; found {
					d.fail(CodeFieldCase, keyAt, childPath, "member %q differs from %q only in case; names are case-sensitive", clipText(key), name)
				} else if !d.allowUnknown && !fields.open {
					d.fail(CodeUnknownField, keyAt, childPath, "unknown member %q", clipText(key))
				}
			}
		}
		d.space()
		if d.data[d.i] == ',' {
			d.i++
			d.space()
			continue
		}
		d.i++ // }
		return
	}
}

// array decodes the array at d.i into the slice or array v.
func (d *decoder) array(v reflect.Value, path string) {
	d.i++ // [
	d.space()
	isSlice := v.Kind() == reflect.Slice
	if isSlice {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	n := 0
	if d.data[d.i] != ']' {
		for {
			childPath := path + "/" + strconv.Itoa(n)
			switch {
			case isSlice:
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
				d.value(v.Index(n), childPath)
			case n < v.Len():
				d.value(v.Index(n), childPath)
			default:
				at := d.i
				d.skip()
				d.fail(CodeType, at, childPath, "more than the %d elements of %s", v.Len(), v.Type())
			}
			n++
			d.space()
			if d.data[d.i] == ',' {
				d.i++
				d.space()
				continue
			}
			break
		}
	}
	d.i++ // ]
}

// str reads the string at d.i, which Check has accepted, and returns its
// unescaped contents.
func (d *decoder) str() string {
	start := d.i + 1
	end := StringEnd(d.data, start)
	d.i = end
	raw := d.data[start : end-1]
	for _, c := range raw {
		if c == '\\' {
			return string(appendUnescaped(make([]byte, 0, len(raw)), raw))
		}
	}
	return string(raw)
}

// clipText shortens input quoted in a message.
func clipText(s string) string {
	if len(s) <= maxKeyInMessage {
		return s
	}
	n := maxKeyInMessage
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Open, embedded in a struct, lets [Unmarshal] skip object members that
// name none of the struct's fields, as [Limits.AllowUnknownFields] does for
// a whole document: for objects whose member set is open (a JSON-RPC
// message's params, an MCP _meta). A member naming a field only under case
// folding is still refused.
type Open struct{}

var openType = reflect.TypeFor[Open]()

// structFields are the decodable fields of a struct type.
type structFields struct {
	byName map[string]*field // by exact JSON name
	byFold map[string]string // fold(name) → name, for the case hint
	open   bool              // the struct embeds Open
}

type field struct {
	goName      string
	index       []int
	unsupported string // why the field cannot be decoded into; "" when it can
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf returns t's fields by JSON name, following encoding/json's
// rules for tags, unexported fields and embedded structs (a shallower
// field hides a deeper one of the same name; two at the same depth hide
// each other).
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	type candidate struct {
		f      *field
		depth  int
		tagged bool
	}
	found := map[string][]candidate{}
	open := false
	var walk func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			if sf.Anonymous && sf.Type == openType {
				open = true
				continue
			}
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, depth+1, seen)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			tagged := name != ""
			if name == "" {
				name = sf.Name
			}
			f := &field{goName: sf.Name, index: idx}
			for o := range strings.SplitSeq(opts, ",") {
				if o == "string" {
					f.unsupported = `the ",string" tag option is not supported`
				}
			}
			if sf.Anonymous && sf.Type.Kind() == reflect.Pointer {
				f.unsupported = "embedded pointers are not supported"
			}
			found[name] = append(found[name], candidate{f, depth, tagged})
		}
	}
	walk(t, nil, 0, map[reflect.Type]bool{})
	sf := &structFields{byName: map[string]*field{}, byFold: map[string]string{}, open: open}
	for name, cs := range found {
		best := cs[0]
		ambiguous := false
		for _, c := range cs[1:] {
			switch {
			case c.depth < best.depth, c.depth == best.depth && c.tagged && !best.tagged:
				best, ambiguous = c, false
			case c.depth == best.depth && c.tagged == best.tagged:
				ambiguous = true
			}
		}
		if ambiguous {
			continue
		}
		sf.byName[name] = best.f
		sf.byFold[fold([]byte(name))] = name
	}
	fieldCache.Store(t, sf)
	return sf
}

// fieldByIndex returns v's field at index, allocating embedded pointers.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// ErrNotObject is returned by [Members] for a document that is not a JSON
// object.
var ErrNotObject = errors.New("not a JSON object")

// Members checks data with [Check] (case-variant keys refused) and
// returns the members of the object it holds, each value exactly as its
// bytes appear in data. It is for documents whose member set is open or
// whose members are read one by one (a JWT's header and claims).
func Members(data []byte, lim Limits) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := Unmarshal(data, &m, lim); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, ErrNotObject
	}
	return m, nil
}
