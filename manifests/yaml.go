package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Input bounds.
const (
	// MaxFileBytes caps a manifest file.
	MaxFileBytes = 1 << 20
	// maxJSONBytes caps a manifest once converted to JSON (quoting can make
	// it longer than its YAML).
	maxJSONBytes = 4 << 20
	// maxDepth caps nesting in a manifest, schemas included.
	maxDepth = 64
	// maxYAMLNesting bounds a cheap over-estimate of YAML nesting checked
	// before parsing: goccy/go-yaml's parser takes quadratic time in the
	// depth of nesting.
	maxYAMLNesting = 512
)

// sourceError is a problem found while turning a file into JSON.
type sourceError struct {
	field string
	why   string
}

func (e *sourceError) Error() string { return e.why }

// toJSON turns a manifest file into canonical JSON: keys in document order,
// no insignificant whitespace, strings with the minimal escapes, numbers as
// written. A file whose name ends in .json, or whose text is a JSON
// object, is read as strict JSON; anything else as YAML (one document, no
// anchors, aliases, tags or merge keys).
func toJSON(data []byte, file string) ([]byte, error) {
	if len(data) > MaxFileBytes {
		return nil, &sourceError{why: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), MaxFileBytes)}
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, &sourceError{why: fmt.Sprintf("file is not valid UTF-8 (byte %d)", off)}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if strings.HasSuffix(file, ".json") || (len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(data)) {
		if err := strictjson.Check(data, strictjson.Limits{MaxBytes: MaxFileBytes, MaxDepth: maxDepth, RejectCaseVariants: true}); err != nil {
			return nil, jsonProblem(err, true)
		}
		return canonicalJSON(data)
	}
	return yamlToJSON(data)
}

// jsonProblem turns a strictjson rejection into a sourceError whose field is
// the dotted path of the JSON pointer; withOffset adds the byte offset
// (meaningful only when the JSON is the file itself).
func jsonProblem(err error, withOffset bool) *sourceError {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return &sourceError{why: err.Error()}
	}
	why := e.Msg
	if withOffset {
		why += fmt.Sprintf(" (offset %d)", e.Offset)
	}
	return &sourceError{field: pointerToField(e.Path), why: why}
}

// pointerToField turns a JSON pointer into a dotted field path:
// "/tools/0/name" becomes "tools[0].name". Inside a schema
// ("inputSchema", "arguments" values) the rest stays a pointer.
func pointerToField(ptr string) string {
	if ptr == "" {
		return ""
	}
	parts := strings.Split(ptr[1:], "/")
	field := ""
	for i, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(p); err == nil && field != "" {
			field += "[" + p + "]"
			continue
		}
		field = join(field, p)
		if p == "inputSchema" || (i > 0 && parts[i-1] == "arguments") {
			if rest := parts[i+1:]; len(rest) > 0 {
				field += "/" + strings.Join(rest, "/")
			}
			break
		}
	}
	return field
}

// canonicalJSON re-encodes valid JSON canonically (see toJSON).
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []byte
	type level struct {
		obj   bool
		n     int  // members or elements written
		atKey bool // obj: the next token is a key
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, &sourceError{why: "invalid JSON: " + err.Error()}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			out = append(out, byte(d))
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].atKey = true
			}
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			switch {
			case top.obj && top.atKey:
				if top.n > 0 {
					out = append(out, ',')
				}
				top.n++
				out, err = appendString(out, tok.(string))
				if err != nil {
					return nil, &sourceError{why: err.Error()}
				}
				out = append(out, ':')
				top.atKey = false
				continue
			case top.obj:
				top.atKey = true
			default:
				if top.n > 0 {
					out = append(out, ',')
				}
				top.n++
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, byte(v))
			stack = append(stack, level{obj: v == '{', atKey: v == '{'})
		case string:
			if out, err = appendString(out, v); err != nil {
				return nil, &sourceError{why: err.Error()}
			}
		case json.Number:
			out = append(out, v...)
		case bool:
			out = strconv.AppendBool(out, v)
		case nil:
			out = append(out, "null"...)
		}
	}
}

// appendString appends s as a JSON string with only the escapes JSON
// requires (no HTML escaping), refusing invalid UTF-8.
func appendString(out []byte, s string) ([]byte, error) {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, errors.New("string is not valid UTF-8")
			}
			out = append(out, s[i:i+n]...)
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			out = append(out, c)
		}
		i++
	}
	return append(out, '"'), nil
}

// yamlToJSON converts one YAML document to canonical JSON.
func yamlToJSON(data []byte) (out []byte, err error) {
	if n := yamlNesting(data); n > maxYAMLNesting {
		return nil, &sourceError{why: fmt.Sprintf("YAML is nested too deeply (more than %d levels)", maxYAMLNesting)}
	}
	defer func() {
		// goccy/go-yaml is not ours; a panic on hostile input must not
		// take the broker down.
		if r := recover(); r != nil {
			out, err = nil, &sourceError{why: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, &sourceError{why: "invalid YAML: " + oneLine(err.Error())}
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	switch {
	case len(docs) == 0:
		return nil, &sourceError{why: "file holds no YAML document"}
	case len(docs) > 1:
		return nil, &sourceError{why: fmt.Sprintf("file holds %d YAML documents; a manifest file holds exactly one", len(docs))}
	}
	c := yamlConverter{}
	if err := c.node(docs[0].Body, ""); err != nil {
		return nil, err
	}
	return c.out, nil
}

// oneLine keeps the first line of a multi-line parser message (the rest is
// a source excerpt).
func oneLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// yamlNesting over-estimates how deeply data nests: per line, the
// indentation plus the block indicators on it, plus the open flow brackets.
func yamlNesting(data []byte) int {
	most, flow, line := 0, 0, 0
	atIndent := true
	for i, c := range data {
		switch {
		case c == '\n':
			line, atIndent = 0, true
			continue
		case atIndent && c == ' ':
			line++
			continue
		case c == '[' || c == '{':
			flow++
		case c == ']' || c == '}':
			flow = max(flow-1, 0)
		case (c == '-' || c == '?' || c == ':') && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n'):
			line++
		}
		atIndent = false
		most = max(most, line+flow)
	}
	return most
}

type yamlConverter struct {
	out []byte
}

// fail reports a problem at node n, whose JSON pointer is ptr.
func (c *yamlConverter) fail(n ast.Node, ptr, format string, args ...any) error {
	why := fmt.Sprintf(format, args...)
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		why = fmt.Sprintf("line %d: %s", tk.Position.Line, why)
	}
	return &sourceError{field: pointerToField(ptr), why: why}
}

func (c *yamlConverter) node(n ast.Node, ptr string) error {
	switch n := n.(type) {
	case *ast.MappingNode:
		return c.mapping(n, n.Values, ptr)
	case *ast.MappingValueNode:
		return c.mapping(n, []*ast.MappingValueNode{n}, ptr)
	case *ast.SequenceNode:
		c.out = append(c.out, '[')
		for i, v := range n.Values {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			if err := c.node(v, ptr+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		c.out = append(c.out, ']')
		return nil
	case *ast.StringNode:
		if n.Token != nil && n.Token.Type == token.StringType && isJSONNumber(n.Value) {
			// A plain scalar the parser kept as text because it does not
			// fit an int64 or float64: YAML's core schema says number.
			c.out = append(c.out, n.Value...)
			return nil
		}
		return c.str(n, n.Value, ptr)
	case *ast.LiteralNode:
		if n.Value == nil {
			return c.str(n, "", ptr)
		}
		return c.str(n, n.Value.Value, ptr)
	case *ast.IntegerNode:
		text := n.Token.Value
		if !isJSONNumber(text) {
			switch v := n.Value.(type) {
			case int64:
				text = strconv.FormatInt(v, 10)
			case uint64:
				text = strconv.FormatUint(v, 10)
			default:
				return c.fail(n, ptr, "integer %q is not representable in JSON", text)
			}
		}
		c.out = append(c.out, text...)
		return nil
	case *ast.FloatNode:
		text := n.Token.Value
		if !isJSONNumber(text) {
			text = strconv.FormatFloat(n.Value, 'g', -1, 64)
			if !isJSONNumber(text) {
				return c.fail(n, ptr, "number %q is not representable in JSON", n.Token.Value)
			}
		}
		c.out = append(c.out, text...)
		return nil
	case *ast.BoolNode:
		c.out = strconv.AppendBool(c.out, n.Value)
		return nil
	case *ast.NullNode:
		c.out = append(c.out, "null"...)
		return nil
	case *ast.InfinityNode, *ast.NanNode:
		return c.fail(n, ptr, "%s is not representable in JSON", n.GetToken().Value)
	case *ast.AnchorNode, *ast.AliasNode:
		return c.fail(n, ptr, "YAML anchors and aliases are not allowed (they can expand a small file into a huge one); write the value out")
	case *ast.TagNode:
		return c.fail(n, ptr, "YAML tags (%s) are not allowed", n.Start.Value)
	case *ast.MergeKeyNode:
		return c.fail(n, ptr, "YAML merge keys (<<) are not allowed")
	case nil:
		c.out = append(c.out, "null"...)
		return nil
	default:
		return c.fail(n, ptr, "unsupported YAML construct (%s)", n.Type())
	}
}

func (c *yamlConverter) str(n ast.Node, s, ptr string) error {
	out, err := appendString(c.out, s)
	if err != nil {
		return c.fail(n, ptr, "%v", err)
	}
	c.out = out
	return nil
}

func (c *yamlConverter) mapping(n ast.Node, values []*ast.MappingValueNode, ptr string) error {
	c.out = append(c.out, '{')
	seen := make(map[string]bool, len(values))
	for i, mv := range values {
		var key string
		switch k := mv.Key.(type) {
		case *ast.StringNode:
			key = k.Value
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
			key = k.GetToken().Value
		case *ast.MergeKeyNode:
			return c.fail(k, ptr, "YAML merge keys (<<) are not allowed")
		case *ast.AnchorNode, *ast.AliasNode:
			return c.fail(k, ptr, "YAML anchors and aliases are not allowed (they can expand a small file into a huge one); write the value out")
		case *ast.TagNode:
			return c.fail(k, ptr, "YAML tags (%s) are not allowed", k.Start.Value)
		default:
			return c.fail(mv.Key, ptr, "mapping keys must be plain scalars")
		}
		if seen[key] {
			return c.fail(mv.Key, ptr, "duplicate key %q", key)
		}
		seen[key] = true
		if i > 0 {
			c.out = append(c.out, ',')
		}
		out, err := appendString(c.out, key)
		if err != nil {
			return c.fail(mv.Key, ptr, "key: %v", err)
		}
		c.out = append(out, ':')
		if err := c.node(mv.Value, ptr+"/"+strictjson.PointerToken(key)); err != nil {
			return err
		}
	}
	c.out = append(c.out, '}')
	return nil
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
