package manifests

import (
	"encoding/json"
	"fmt"
)

// ParseRole parses and checks one role manifest, YAML or JSON, as strictly
// as [ParseTool]: name, at least one tool entry, each naming a tool (or
// "*" for every tool, which cannot carry argument constraints) once, with
// argument constraints that are JSON Schema fragments the validator
// enforces (no $ref, $defs, $schema or $id: they are merged into the
// tool's schema), egress patterns, positive limits and a rate such as
// "30/min". Whether the named tools exist and whether the role only
// narrows them is checked by [LoadDir], which sees the tools.
func ParseRole(data []byte, file string) (*Role, error) {
	ps := &problems{file: file}
	var r *Role
	if d, ok := readDocument(data, ps); ok {
		r = roleFromDocument(d, ps)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return r, nil
}

func roleFromDocument(d *document, ps *problems) *Role {
	before := len(ps.list)
	if !checkHeader(d, KindRole, ps) {
		return nil
	}
	var r Role
	if !decodeInto(d, &r, ps) {
		return nil
	}
	r.File = ps.file
	switch {
	case !d.has("name"):
		ps.add("name", "required")
	case !roleNameRE.MatchString(r.Name):
		ps.add("name", fmt.Sprintf("%q is not a role name (a lower-case letter, then up to 63 lower-case letters, digits, underscores or hyphens)", clip(r.Name)))
	}
	checkText("description", r.Description, false, ps)
	if len(r.Tools) == 0 {
		ps.add("tools", "required: list the tools this role may call")
	}
	seen := map[string]bool{}
	for i := range r.Tools {
		rt := &r.Tools[i]
		field := fmt.Sprintf("tools[%d]", i)
		switch {
		case rt.Name == "":
			ps.add(field+".name", "required: a tool name, or \"*\" for every tool")
		case rt.Name != "*" && !toolNameRE.MatchString(rt.Name):
			ps.add(field+".name", fmt.Sprintf("%q is not a tool name", clip(rt.Name)))
		case seen[rt.Name]:
			ps.add(field+".name", fmt.Sprintf("%q is listed twice", clip(rt.Name)))
		}
		seen[rt.Name] = true
		if rt.Name == "*" && len(rt.Arguments) > 0 {
			ps.add(field+".arguments", "\"*\" stands for every tool, so it cannot constrain arguments; add an entry for the tool")
		}
		for _, name := range sortedKeys(rt.Arguments) {
			af := join(field+".arguments", name)
			if h := hiddenChar(name); h != "" || name == "" {
				ps.add(af, "is not an argument name")
				continue
			}
			if _, sps := compileSchema(rt.Arguments[name], modeFragment, af); len(sps) > 0 {
				for _, p := range sps {
					ps.add(p.Field, p.Why)
				}
			}
		}
		if len(rt.Arguments) == 0 {
			rt.Arguments = nil
		}
		checkEgressList(field+".egress", rt.Egress, ps)
	}
	if len(ps.list) > before {
		return nil
	}
	return &r
}

// MarshalJSON encodes the entry like encoding/json would, except that an
// empty but non-nil Egress is kept as "egress": []: it means "no egress",
// while an absent egress means "the tool's".
func (rt RoleTool) MarshalJSON() ([]byte, error) {
	type plain RoleTool
	var wire struct {
		plain
		Egress *[]string `json:"egress,omitempty"`
	}
	wire.plain = plain(rt)
	if rt.Egress != nil {
		wire.Egress = &rt.Egress
	}
	return json.Marshal(wire)
}
