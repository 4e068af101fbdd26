package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// ABIVersion is the version of the tool protocol this package speaks.
const ABIVersion = 1

// MaxArgsBytes is the most argument bytes [Run] reads from stdin. Larger
// arguments are reported as a tool error; the broker normally refuses them
// long before.
const MaxArgsBytes = 8 << 20

// Func is the body of a tool: it receives the argument object exactly as
// read from stdin and returns a value to encode as the result, or an error
// whose message becomes the envelope's "error".
type Func func(ctx context.Context, args json.RawMessage) (any, error)

// Run reads the arguments from stdin, calls fn, writes the envelope to
// stdout and exits the process with status 0 (1 only if stdout cannot be
// written).
//
// # Notes
//
// Run never returns. The result is encoded with encoding/json without HTML
// escaping; a value that cannot be encoded becomes a tool error.
func Run(fn Func) {
	os.Exit(run(context.Background(), os.Stdin, os.Stdout, fn))
}

// run is Run without the process: it returns the exit status.
func run(ctx context.Context, stdin io.Reader, stdout io.Writer, fn Func) int {
	var out []byte
	data, err := io.ReadAll(io.LimitReader(stdin, MaxArgsBytes+1))
	if err != nil {
		out = errorEnvelope(fmt.Errorf("read arguments: %w", err))
	} else {
		out = Reply(ctx, fn, data)
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return 1
	}
	return 0
}

// Reply runs fn on the argument bytes args and returns the ABI v1 reply
// envelope, {"result": V} or {"error": MSG}, without a trailing newline.
// args must be one JSON object of at most [MaxArgsBytes]; anything else,
// an error from fn, or a result that cannot be encoded becomes
// {"error": ...}. Both the wasm side ([Run]) and the plugin side
// (tools/sdk/plugin) answer through it, and tool authors can use it to test
// a function without a broker.
func Reply(ctx context.Context, fn Func, args []byte) []byte {
	raw, err := checkArgs(args)
	if err == nil {
		var v any
		if v, err = fn(ctx, raw); err == nil {
			var out []byte
			if out, err = resultEnvelope(v); err == nil {
				return out
			}
		}
	}
	return errorEnvelope(err)
}

// checkArgs accepts exactly one JSON object of at most MaxArgsBytes.
func checkArgs(data []byte) (json.RawMessage, error) {
	if len(data) > MaxArgsBytes {
		return nil, fmt.Errorf("arguments exceed %d bytes", MaxArgsBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, errors.New("arguments are not a JSON object")
	}
	return json.RawMessage(trimmed), nil
}

// resultEnvelope encodes {"result": v} without HTML escaping.
func resultEnvelope(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"result":`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	b.WriteString("}")
	return b.Bytes(), nil
}

// errorEnvelope encodes {"error": err.Error()}.
func errorEnvelope(err error) []byte {
	msg := err.Error()
	if msg == "" {
		msg = "tool failed"
	}
	var b bytes.Buffer
	b.WriteString(`{"error":`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(msg) // a string always encodes
	b.Truncate(b.Len() - 1)
	b.WriteString("}")
	return b.Bytes()
}

// Decode decodes the argument object args into v, which must be a non-nil
// pointer, the way [encoding/json.Unmarshal] does but strictly: unknown
// fields, keys matching a field only case-insensitively, duplicate keys at
// any depth and trailing data are errors.
//
// # Notes
//
// Key checks follow v's static type through structs, pointers, slices,
// arrays and maps with string keys; below an interface, a
// [json.RawMessage] or a type with its own UnmarshalJSON only duplicate keys
// are checked. Numbers decoded into an interface are float64, as with
// encoding/json.
func Decode(args json.RawMessage, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("decode arguments: target must be a non-nil pointer")
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	if err := checkValue(dec, rv.Type().Elem(), ""); err != nil {
		return fmt.Errorf("decode arguments: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decode arguments: trailing data after the value")
	}
	strict := json.NewDecoder(bytes.NewReader(args))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return fmt.Errorf("decode arguments: %w", err)
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkValue reads one JSON value from dec and checks its object keys
// against t (nil when the keys are free-form).
func checkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = map[string]reflect.Type{}
				structFields(t, fields, 0)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			ktok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := ktok.(string)
			sub := path + "." + key
			if seen[key] {
				return fmt.Errorf("duplicate key %s", strconv.Quote(strings.TrimPrefix(sub, ".")))
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return fmt.Errorf("unknown field %s", strconv.Quote(strings.TrimPrefix(sub, ".")))
				}
				next = ft
			}
			if err := checkValue(dec, next, sub); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// structFields adds the JSON names of t's fields, as encoding/json sees
// them, with their types. Embedded structs without a name tag contribute
// their fields, after t's own (a shallower field wins, as in encoding/json).
func structFields(t reflect.Type, into map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := into[name]; !dup {
			into[name] = f.Type
		}
	}
	for _, et := range embedded {
		structFields(et, into, depth+1)
	}
}
