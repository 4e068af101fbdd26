package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Schema is a compiled JSON Schema: a tool's input schema, or a tool's
// schema narrowed by a role.
//
// # Notes
//
// A Schema is immutable and safe for concurrent use. Build one with
// [CompileSchema].
type Schema struct {
	compiled   *gojsonschema.Schema
	sensitive  []string
	properties []string // names declared under properties at the root, or in-place subschemas of it
}

// Violation is one way a document fails a [Schema].
type Violation struct {
	// Pointer is the JSON pointer of the offending value in the document,
	// e.g. "/url" ("" for the document itself). For a missing required
	// member it points at the member that should be there.
	Pointer string
	// Why says what is wrong, e.g. "Does not match pattern '^https://'".
	Why string
}

// Schema dialects accepted in "$schema".
const (
	dialect202012 = "https://json-schema.org/draft/2020-12/schema"
	dialectDraft7 = "http://json-schema.org/draft-07/schema#"
)

var dialects = map[string]string{
	"https://json-schema.org/draft/2020-12/schema":  dialect202012,
	"https://json-schema.org/draft/2020-12/schema#": dialect202012,
	"http://json-schema.org/draft-07/schema#":       dialectDraft7,
	"http://json-schema.org/draft-07/schema":        dialectDraft7,
	"https://json-schema.org/draft-07/schema#":      dialectDraft7,
	"https://json-schema.org/draft-07/schema":       dialectDraft7,
}

// unsupported names keywords of JSON Schema 2019-09 and 2020-12 that the
// validator (gojsonschema, draft-07) does not implement: a schema using one
// would be silently weaker than written, so it does not load.
var unsupported = map[string]string{
	"prefixItems":           "use items with one schema for every element",
	"unevaluatedProperties": "use additionalProperties",
	"unevaluatedItems":      "use items",
	"dependentSchemas":      "use dependencies",
	"dependentRequired":     "use dependencies with a list of names",
	"$dynamicRef":           "use $ref",
	"$dynamicAnchor":        "use $defs and $ref",
	"$anchor":               "use $ref with a JSON pointer such as #/$defs/name",
	"$recursiveRef":         "use $ref",
	"$recursiveAnchor":      "use $defs and $ref",
	"minContains":           "",
	"maxContains":           "",
	"$vocabulary":           "",
	"id":                    "",
}

// formats the validator checks; any other format would be ignored.
var formats = []string{
	"date", "time", "date-time", "hostname", "email", "idn-email", "ipv4", "ipv6",
	"uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid", "regex",
	"json-pointer", "relative-json-pointer",
}

var typeNames = []string{"array", "boolean", "integer", "null", "number", "object", "string"}

// schemaMode says where a schema sits.
type schemaMode int

const (
	// modeTool is a whole arguments schema: its root is an object schema
	// with "type": "object"; $schema, $id (root only), $defs and $ref are
	// allowed.
	modeTool schemaMode = iota
	// modeFragment is a role's constraint on one argument. It is merged
	// into the tool's schema, so it cannot carry a dialect, definitions or
	// references (they would resolve against a different root).
	modeFragment
)

// CompileSchema compiles a tool's arguments schema. The schema must be an
// object with "type": "object" at its root, in JSON Schema 2020-12 (the
// default) or draft-07 ("$schema" names which), using only keywords the
// validator enforces (plus annotations and toolwarden's "sensitive"
// boolean); "$ref" must point into the schema itself ("#/$defs/x"), never
// at a URL. A "$ref" with sibling keywords is enforced with them, as
// 2020-12 says. Descriptions, titles and property names must not hide
// characters, and no object may have two keys that differ only in case
// (call arguments are held to the same rule).
//
// The error is a [*LoadError] whose problems' Field is a JSON pointer into
// the schema.
func CompileSchema(raw json.RawMessage) (*Schema, error) {
	s, ps := compileSchema(raw, modeTool, "")
	if len(ps) > 0 {
		return nil, &LoadError{Problems: ps}
	}
	return s, nil
}

// compileSchema compiles raw; each problem's Field is prefix followed by
// the JSON pointer.
func compileSchema(raw json.RawMessage, mode schemaMode, prefix string) (*Schema, []Problem) {
	c := &schemaCompiler{
		mode:      mode,
		prefix:    prefix,
		nodes:     map[string]map[string]any{},
		bools:     map[string]bool{},
		sensitive: map[string]bool{},
		edges:     map[string][]string{},
	}
	v, err := strictjson.Decode(raw, strictjson.Limits{MaxBytes: maxJSONBytes, MaxDepth: maxDepth, RejectCaseVariants: true})
	if err != nil {
		var e *strictjson.Error
		if errors.As(err, &e) {
			c.problem(e.Path, e.Msg)
		} else {
			c.problem("", err.Error())
		}
		return nil, c.problems
	}
	if p, ok := bigNumber(v, ""); ok {
		c.problem(p, fmt.Sprintf("number is too large (more than %d digits or an exponent beyond ±%d)", maxNumberDigits, maxNumberExponent))
		return nil, c.problems
	}
	c.dialect = dialect202012
	root, isObject := v.(map[string]any)
	switch {
	case mode == modeTool && !isObject:
		c.problem("", "the arguments schema must be an object with \"type\": \"object\"")
		return nil, c.problems
	case mode == modeTool:
		if t, ok := root["type"]; !ok || t != "object" {
			c.problem("", "the arguments schema must have \"type\": \"object\" at its root")
		}
		if d, ok := root["$schema"]; ok {
			name, _ := d.(string)
			if c.dialect, ok = dialects[name]; !ok {
				c.problem("/$schema", fmt.Sprintf("unsupported dialect %s (want %q or %q)", quoteValue(d), dialect202012, dialectDraft7))
				c.dialect = dialect202012
			}
		}
	}
	out := c.walk(v, "")
	c.checkRefs()
	var sensitive []string
	if len(c.sensitive) > 0 && len(c.problems) == 0 {
		sensitive = c.sensitiveArguments()
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	loader := gojsonschema.NewSchemaLoader()
	loader.Draft = gojsonschema.Draft7
	loader.AutoDetect = false
	compiled, err := loader.Compile(gojsonschema.NewGoLoader(out))
	if err != nil {
		c.problem("", "schema does not compile: "+err.Error())
		return nil, c.problems
	}
	return &Schema{compiled: compiled, sensitive: sensitive, properties: c.rootProperties()}, nil
}

// rootProperties returns the property names the schema declares for its
// instance: under "properties" at the root and at every subschema applied
// in place to the root (allOf members, $ref targets, then, ...).
func (c *schemaCompiler) rootProperties() []string {
	names := map[string]bool{}
	seen := map[string]bool{}
	var visit func(ptr string)
	visit = func(ptr string) {
		if seen[ptr] {
			return
		}
		seen[ptr] = true
		if props, ok := c.nodes[ptr]["properties"].(map[string]any); ok {
			for name := range props {
				names[name] = true
			}
		}
		for _, q := range c.edges[ptr] {
			visit(q)
		}
	}
	visit("")
	return sortedKeys(names)
}

// Declares reports whether the schema declares an argument called name
// (under "properties", at the root or in a subschema applied in place to
// it such as an allOf member or a $ref target).
func (s *Schema) Declares(name string) bool {
	if s == nil {
		return false
	}
	_, found := slices.BinarySearch(s.properties, name)
	return found
}

type schemaCompiler struct {
	mode     schemaMode
	prefix   string
	dialect  string
	problems []Problem

	nodes     map[string]map[string]any // every object subschema by pointer
	bools     map[string]bool           // every boolean subschema by pointer
	sensitive map[string]bool           // subschemas marked "sensitive": true
	edges     map[string][]string       // in-place applicators: subschemas applied to the same instance
	refs      []ref
}

type ref struct {
	from, target string // pointers of the referring subschema and of its target
	text         string
}

func (c *schemaCompiler) problem(ptr, why string) {
	c.problems = append(c.problems, Problem{Field: visible(c.prefix + ptr), Why: visible(why)})
}

// walk checks the subschema v at ptr and returns the copy handed to the
// validator: "$schema", "$id" and "sensitive" removed, and a "$ref" with
// siblings moved into "allOf" so the siblings are enforced.
func (c *schemaCompiler) walk(v any, ptr string) any {
	switch x := v.(type) {
	case bool:
		c.bools[ptr] = true
		return x
	case map[string]any:
		c.nodes[ptr] = x
	default:
		c.problem(ptr, fmt.Sprintf("a schema must be an object or a boolean, not %s", jsonType(v)))
		return nil
	}
	m := v.(map[string]any)
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		val := m[k]
		kp := ptr + "/" + strictjson.PointerToken(k)
		switch k {
		// Subschemas.
		case "additionalProperties", "contains", "propertyNames":
			out[k] = c.walk(val, kp)
		case "not", "if", "then", "else":
			out[k] = c.walk(val, kp)
			c.edges[ptr] = append(c.edges[ptr], kp)
		case "items":
			if list, ok := val.([]any); ok {
				if c.dialect != dialectDraft7 {
					c.problem(kp, "items must be one schema in JSON Schema 2020-12 (the array form is prefixItems, which is not supported)")
					continue
				}
				out[k] = c.walkList(list, kp, false)
				continue
			}
			out[k] = c.walk(val, kp)
		case "additionalItems":
			if c.dialect != dialectDraft7 {
				c.problem(kp, "additionalItems is not a JSON Schema 2020-12 keyword (use items)")
				continue
			}
			out[k] = c.walk(val, kp)
		case "allOf", "anyOf", "oneOf":
			list, ok := val.([]any)
			if !ok || len(list) == 0 {
				c.problem(kp, k+" must be a non-empty array of schemas")
				continue
			}
			out[k] = c.walkList(list, kp, true)
		case "properties", "patternProperties", "$defs", "definitions":
			if (k == "$defs" || k == "definitions") && c.mode == modeFragment {
				c.problem(kp, k+" is not allowed in a role's argument constraint")
				continue
			}
			members, ok := val.(map[string]any)
			if !ok {
				c.problem(kp, k+" must be an object of schemas")
				continue
			}
			walked := make(map[string]any, len(members))
			for _, name := range sortedKeys(members) {
				np := kp + "/" + strictjson.PointerToken(name)
				switch k {
				case "patternProperties":
					if _, err := regexp.Compile(name); err != nil {
						c.problem(np, fmt.Sprintf("pattern %q does not compile: %v", name, err))
					}
				case "properties":
					if h := hiddenChar(name); h != "" {
						c.problem(np, "property name has a "+h)
					}
				}
				walked[name] = c.walk(members[name], np)
			}
			out[k] = walked
		case "dependencies":
			members, ok := val.(map[string]any)
			if !ok {
				c.problem(kp, "dependencies must be an object")
				continue
			}
			walked := make(map[string]any, len(members))
			for _, name := range sortedKeys(members) {
				np := kp + "/" + strictjson.PointerToken(name)
				if list, ok := members[name].([]any); ok {
					if !allStrings(list) {
						c.problem(np, "a dependency must be a schema or an array of property names")
					}
					walked[name] = list
					continue
				}
				walked[name] = c.walk(members[name], np)
				c.edges[ptr] = append(c.edges[ptr], np)
			}
			out[k] = walked
		case "$ref":
			s, ok := val.(string)
			if !ok {
				c.problem(kp, "$ref must be a string")
				continue
			}
			if c.mode == modeFragment {
				c.problem(kp, "$ref is not allowed in a role's argument constraint")
				continue
			}
			target, err := localRef(s)
			if err != nil {
				c.problem(kp, err.Error())
				continue
			}
			c.refs = append(c.refs, ref{from: ptr, target: target, text: s})
			out[k] = s

		// Assertions.
		case "type":
			if !validType(val) {
				c.problem(kp, fmt.Sprintf("type must be one of %s, or a non-empty array of them without repeats", strings.Join(typeNames, ", ")))
				continue
			}
			out[k] = val
		case "enum":
			if list, ok := val.([]any); !ok || len(list) == 0 {
				c.problem(kp, "enum must be a non-empty array")
				continue
			}
			out[k] = val
		case "const":
			out[k] = val
		case "required":
			list, ok := val.([]any)
			if !ok || !allStrings(list) {
				c.problem(kp, "required must be an array of property names")
				continue
			}
			out[k] = val
		case "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties":
			if !nonNegativeInteger(val) {
				c.problem(kp, k+" must be a non-negative integer")
				continue
			}
			out[k] = val
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			if _, ok := val.(json.Number); !ok {
				c.problem(kp, k+" must be a number")
				continue
			}
			out[k] = val
		case "multipleOf":
			if n, ok := val.(json.Number); !ok || !positive(n) {
				c.problem(kp, "multipleOf must be a number greater than 0")
				continue
			}
			out[k] = val
		case "uniqueItems":
			if _, ok := val.(bool); !ok {
				c.problem(kp, "uniqueItems must be a boolean")
				continue
			}
			out[k] = val
		case "pattern":
			s, ok := val.(string)
			if !ok {
				c.problem(kp, "pattern must be a string")
				continue
			}
			if _, err := regexp.Compile(s); err != nil {
				c.problem(kp, fmt.Sprintf("pattern does not compile as a Go regular expression (RE2: no lookaround or backreferences): %v", err))
				continue
			}
			out[k] = val
		case "format":
			s, ok := val.(string)
			if !ok || !slices.Contains(formats, s) || !gojsonschema.FormatCheckers.Has(s) {
				c.problem(kp, fmt.Sprintf("format %s is not checked by the validator (known: %s)", quoteValue(val), strings.Join(formats, ", ")))
				continue
			}
			out[k] = val

		// Annotations.
		case "title", "description":
			s, ok := val.(string)
			if !ok {
				c.problem(kp, k+" must be a string")
				continue
			}
			if h := hiddenChar(s); h != "" {
				c.problem(kp, "has a "+h)
			}
			out[k] = val
		case "$comment", "contentMediaType", "contentEncoding":
			if _, ok := val.(string); !ok {
				c.problem(kp, k+" must be a string")
				continue
			}
			out[k] = val
		case "default":
			out[k] = val
		case "examples":
			if _, ok := val.([]any); !ok {
				c.problem(kp, "examples must be an array")
				continue
			}
			out[k] = val
		case "readOnly", "writeOnly", "deprecated":
			if _, ok := val.(bool); !ok {
				c.problem(kp, k+" must be a boolean")
				continue
			}
			out[k] = val
		case "sensitive":
			b, ok := val.(bool)
			if !ok {
				c.problem(kp, "sensitive must be a boolean")
				continue
			}
			if c.mode == modeFragment {
				c.problem(kp, "sensitive belongs in the tool's input schema, which the audit log redacts by")
				continue
			}
			if b {
				c.sensitive[ptr] = true
			}
		case "$schema":
			if ptr != "" || c.mode == modeFragment {
				c.problem(kp, "$schema is only allowed at the root of a tool's input schema")
			}
		case "$id":
			if ptr != "" || c.mode == modeFragment {
				c.problem(kp, "$id is only allowed at the root of a tool's input schema")
				continue
			}
			if _, ok := val.(string); !ok {
				c.problem(kp, "$id must be a string")
			}
		default:
			if hint, ok := unsupported[k]; ok {
				why := fmt.Sprintf("keyword %q is not supported: the validator does not enforce it", k)
				if hint != "" {
					why += " (" + hint + ")"
				}
				c.problem(kp, why)
				continue
			}
			c.problem(kp, fmt.Sprintf("unknown keyword %q: the validator would ignore it", clip(k)))
		}
	}
	if r, ok := out["$ref"]; ok && hasAssertions(out) {
		// 2020-12 applies a $ref's siblings; the draft-07 validator would
		// ignore them. allOf keeps both, and appending keeps the pointers
		// of existing allOf members valid.
		delete(out, "$ref")
		all, _ := out["allOf"].([]any)
		out["allOf"] = append(slices.Clip(all), map[string]any{"$ref": r})
	}
	return out
}

// walkList walks an array of subschemas at ptr; inPlace records them as
// applied to the parent's instance.
func (c *schemaCompiler) walkList(list []any, ptr string, inPlace bool) []any {
	out := make([]any, len(list))
	parent := ptr[:strings.LastIndexByte(ptr, '/')]
	for i, s := range list {
		ip := fmt.Sprintf("%s/%d", ptr, i)
		out[i] = c.walk(s, ip)
		if inPlace {
			c.edges[parent] = append(c.edges[parent], ip)
		}
	}
	return out
}

// hasAssertions reports whether a walked schema has keywords besides $ref
// that the validator would act on.
func hasAssertions(m map[string]any) bool {
	for k := range m {
		switch k {
		case "$ref", "$defs", "definitions", "title", "description", "default", "examples",
			"$comment", "readOnly", "writeOnly", "deprecated", "contentMediaType", "contentEncoding":
		default:
			return true
		}
	}
	return false
}

// localRef checks that s references this schema ("#" or "#/json/pointer")
// and returns the pointer.
func localRef(s string) (string, error) {
	if !strings.HasPrefix(s, "#") {
		return "", fmt.Errorf("$ref %q is not local: only references into this schema (\"#/$defs/name\") are allowed; remote schemas are never fetched", clip(s))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path != "" || u.RawQuery != "" || u.Opaque != "" {
		return "", fmt.Errorf("$ref %q is not a valid local reference", clip(s))
	}
	if u.Fragment != "" && !strings.HasPrefix(u.Fragment, "/") {
		return "", fmt.Errorf("$ref %q names an anchor; use a JSON pointer such as \"#/$defs/name\"", clip(s))
	}
	return u.Fragment, nil
}

// checkRefs checks that every $ref resolves to a subschema and that no
// chain of in-place applicators ($ref, allOf, not, ...) loops back to
// itself, which would send the validator into endless recursion.
func (c *schemaCompiler) checkRefs() {
	for _, r := range c.refs {
		if _, ok := c.nodes[r.target]; !ok && !c.bools[r.target] {
			c.problem(r.from+"/$ref", fmt.Sprintf("$ref %q does not resolve to a schema in this document", clip(r.text)))
			continue
		}
		c.edges[r.from] = append(c.edges[r.from], r.target)
	}
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var visit func(p string) bool
	visit = func(p string) bool {
		switch state[p] {
		case active:
			return true
		case done:
			return false
		}
		state[p] = active
		for _, q := range c.edges[p] {
			if visit(q) {
				return true
			}
		}
		state[p] = done
		return false
	}
	for _, p := range sortedKeys(c.edges) {
		if state[p] == unvisited && visit(p) {
			c.problem(p, "references loop back to this schema without descending into the value (infinite recursion)")
			return
		}
	}
}

// maxSensitiveVisits bounds the walk that turns "sensitive" marks into
// argument pointers.
const maxSensitiveVisits = 10000

// sensitiveArguments returns the argument pointers ("/token",
// "/auth/password", "/keys/-" for every element of keys) of the subschemas
// marked "sensitive": true, following properties, items and in-place
// applicators from the root. A mark that cannot be named by such a pointer
// (under additionalProperties, patternProperties, or at the root) is a
// problem: it could not be honoured.
func (c *schemaCompiler) sensitiveArguments() []string {
	found := map[string]bool{}
	onPath := map[string]bool{}
	visits := 0
	var visit func(ptr, arg string, named bool)
	visit = func(ptr, arg string, named bool) {
		if onPath[ptr] || visits > maxSensitiveVisits {
			return
		}
		visits++
		onPath[ptr] = true
		defer delete(onPath, ptr)
		if c.sensitive[ptr] {
			switch {
			case !named:
				c.problem(ptr+"/sensitive", "sensitive is only honoured under properties and items (the audit log redacts arguments by name)")
			case arg == "":
				c.problem(ptr+"/sensitive", "sensitive cannot mark the whole arguments object; mark its properties")
			default:
				found[arg] = true
			}
		}
		m := c.nodes[ptr]
		if m == nil {
			return
		}
		for _, k := range sortedKeys(m) {
			kp := ptr + "/" + strictjson.PointerToken(k)
			switch k {
			case "properties":
				props, _ := m[k].(map[string]any)
				for _, name := range sortedKeys(props) {
					visit(kp+"/"+strictjson.PointerToken(name), arg+"/"+strictjson.PointerToken(name), named)
				}
			case "items":
				if list, ok := m[k].([]any); ok {
					for i := range list {
						visit(fmt.Sprintf("%s/%d", kp, i), arg+"/-", named)
					}
				} else {
					visit(kp, arg+"/-", named)
				}
			case "additionalItems", "contains":
				visit(kp, arg+"/-", named)
			case "allOf", "anyOf", "oneOf":
				list, _ := m[k].([]any)
				for i := range list {
					visit(fmt.Sprintf("%s/%d", kp, i), arg, named)
				}
			case "not", "if", "then", "else":
				visit(kp, arg, named)
			case "dependencies":
				deps, _ := m[k].(map[string]any)
				for _, name := range sortedKeys(deps) {
					visit(kp+"/"+strictjson.PointerToken(name), arg, named)
				}
			case "additionalProperties":
				visit(kp, arg+"/*", false)
			case "patternProperties":
				pats, _ := m[k].(map[string]any)
				for _, name := range sortedKeys(pats) {
					visit(kp+"/"+strictjson.PointerToken(name), arg+"/*", false)
				}
			case "$ref":
				if s, ok := m[k].(string); ok {
					if target, err := localRef(s); err == nil {
						visit(target, arg, named)
					}
				}
			}
		}
	}
	visit("", "", true)
	if visits > maxSensitiveVisits {
		c.problem("", "schema is too intricate to work out which arguments are sensitive")
	}
	// A mark reached from nowhere (an unused definition) marks nothing.
	return sortedKeys(found)
}

// SensitivePointers returns the JSON pointers of the arguments the schema
// marks "sensitive": true, sorted: "/password", "/auth/token", and
// "/keys/-" for every element of the array "keys". The audit log redacts
// their values.
func (s *Schema) SensitivePointers() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.sensitive)
}

// Validate checks doc (a value decoded from JSON, ideally with
// [json.Decoder.UseNumber] so numbers keep their precision) and returns
// every violation, sorted by pointer; nil means doc is valid. A nil
// *Schema admits nothing.
func (s *Schema) Validate(doc any) []Violation {
	if s == nil || s.compiled == nil {
		return []Violation{{Pointer: "", Why: "no schema to validate against"}}
	}
	if p, ok := bigNumber(doc, ""); ok {
		return []Violation{{Pointer: p, Why: fmt.Sprintf("number is too large to validate (more than %d digits or an exponent beyond ±%d)", maxNumberDigits, maxNumberExponent)}}
	}
	// A document decoded with UseNumber goes to the validator as it is;
	// anything else (float64 numbers, structs) is re-encoded by the loader.
	loader := gojsonschema.NewGoLoader(doc)
	if decodedWithNumbers(doc) {
		loader = gojsonschema.NewRawLoader(doc)
	}
	res, err := s.compiled.Validate(loader)
	if err != nil {
		return []Violation{{Pointer: "", Why: "cannot validate: " + err.Error()}}
	}
	if res.Valid() {
		return nil
	}
	sep := separator(doc)
	seen := map[Violation]bool{}
	var out []Violation
	for _, e := range res.Errors() {
		if e.Type() == "number_all_of" {
			continue // the failing members report their own violations
		}
		ptr := contextPointer(e.Context(), sep)
		why := e.Description()
		switch e.Type() {
		case "required":
			if p, ok := e.Details()["property"].(string); ok {
				ptr += "/" + strictjson.PointerToken(p)
				why = "is required"
			}
		case "additional_property_not_allowed":
			if p, ok := e.Details()["property"].(string); ok {
				ptr += "/" + strictjson.PointerToken(p)
				why = "is not allowed"
			}
		}
		v := Violation{Pointer: ptr, Why: why}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		out = append(out, Violation{Why: "does not match the schema"})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pointer != out[j].Pointer {
			return out[i].Pointer < out[j].Pointer
		}
		return out[i].Why < out[j].Why
	})
	return out
}

// separator returns a string that occurs in no object key of doc, to join
// gojsonschema's context path unambiguously: "\x01" + a run of "\x02" that
// no key contains + "\x01". (A key holding the run would hold it whole, and
// the run has no "\x01", so every occurrence of the separator is one.)
func separator(doc any) string {
	run := "\x02"
	for keyContains(doc, run) {
		run += "\x02"
	}
	return "\x01" + run + "\x01"
}

func keyContains(v any, s string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if strings.Contains(k, s) || keyContains(val, s) {
				return true
			}
		}
	case []any:
		for _, val := range x {
			if keyContains(val, s) {
				return true
			}
		}
	}
	return false
}

// contextPointer turns gojsonschema's context ("(root)" then each key or
// index) into a JSON pointer.
func contextPointer(ctx *gojsonschema.JsonContext, sep string) string {
	if ctx == nil {
		return ""
	}
	parts := strings.Split(ctx.String(sep), sep)
	var b strings.Builder
	for _, p := range parts[1:] { // parts[0] is "(root)"
		b.WriteByte('/')
		b.WriteString(strictjson.PointerToken(p))
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func allStrings(list []any) bool {
	for _, v := range list {
		if _, ok := v.(string); !ok {
			return false
		}
	}
	return true
}

func validType(v any) bool {
	switch x := v.(type) {
	case string:
		return slices.Contains(typeNames, x)
	case []any:
		if len(x) == 0 {
			return false
		}
		seen := map[string]bool{}
		for _, t := range x {
			s, ok := t.(string)
			if !ok || !slices.Contains(typeNames, s) || seen[s] {
				return false
			}
			seen[s] = true
		}
		return true
	}
	return false
}

// nonNegativeInteger reports whether v is a number written as plain
// digits that fits an int64.
func nonNegativeInteger(v any) bool {
	n, ok := v.(json.Number)
	if !ok || len(n) == 0 || len(n) > 18 {
		return false
	}
	for _, c := range []byte(n) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// positive reports whether n is greater than zero.
func positive(n json.Number) bool {
	mantissa, _, _ := strings.Cut(strings.ToLower(string(n)), "e")
	return !strings.HasPrefix(mantissa, "-") && strings.ContainsAny(mantissa, "123456789")
}

// maxNumberDigits and maxNumberExponent bound the numbers the validator is
// given: it parses each as a math/big.Rat, whose cost grows with the
// exponent (1e1000000 takes tens of milliseconds).
const (
	maxNumberDigits   = 400
	maxNumberExponent = 400
)

// numberTooBig reports whether n is beyond what the validator should parse.
func numberTooBig(n json.Number) bool {
	s := string(n)
	if len(s) > maxNumberDigits {
		return true
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return false
	}
	exp := strings.TrimLeft(strings.TrimLeft(s[i+1:], "+-"), "0")
	v, err := strconv.Atoi(exp)
	return len(exp) > 6 || err == nil && v > maxNumberExponent
}

// bigNumber returns the pointer of a number in v that is numberTooBig, if
// there is one. The pointer is built on the way back from a find, so a
// document without one costs no allocation.
func bigNumber(v any, ptr string) (string, bool) {
	path, ok := bigNumberPath(v)
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.WriteString(ptr)
	for i := len(path) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(path[i])
	}
	return b.String(), true
}

// bigNumberPath returns the reference tokens of the first big number in v,
// innermost first.
func bigNumberPath(v any) ([]string, bool) {
	switch x := v.(type) {
	case json.Number:
		return nil, numberTooBig(x)
	case map[string]any:
		for k, val := range x {
			if p, ok := bigNumberPath(val); ok {
				return append(p, strictjson.PointerToken(k)), true
			}
		}
	case []any:
		for i, val := range x {
			if p, ok := bigNumberPath(val); ok {
				return append(p, strconv.Itoa(i)), true
			}
		}
	}
	return nil, false
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func quoteValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b))
}

// decodedWithNumbers reports whether v has exactly the shape
// encoding/json's UseNumber decoding gives (maps, slices, strings, bools,
// nil and json.Number), the only shape the validator reads without
// re-encoding it.
func decodedWithNumbers(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, json.Number:
		return true
	case map[string]any:
		for _, e := range x {
			if !decodedWithNumbers(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !decodedWithNumbers(e) {
				return false
			}
		}
		return true
	}
	return false
}
