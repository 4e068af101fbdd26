package manifests

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// ParseRole parses and checks one role manifest, YAML or JSON, as strictly
// as [ParseTool]: name, at least one tool entry, each naming a tool (or
// "*" for every tool, which cannot carry argument constraints) once, with
// argument constraints that are JSON Schema fragments the validator
// enforces (no $ref, $defs, $schema or $id: they are merged into the
// tool's schema), egress patterns, positive limits, a rate such as
// "30/min", and mounts (a host directory, resolved against the manifest's
// directory, at an absolute, clean sandbox path, each path once; none on
// "*"). An entry for a tool replaces a "*" entry for it, so it must
// state the rate, egress list and limits "*" sets. Whether the named tools exist, whether the role only narrows them,
// whether they declare the mounted paths and whether the host directories
// exist is checked by [LoadDir], which sees the tools and the disk.
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
	case !roleNameRE().MatchString(r.Name):
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
		case rt.Name != "*" && !toolNameRE().MatchString(rt.Name):
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
		checkMounts(field, &r, rt, ps)
		switch rt.OnRefusal {
		case "", OnRefusalContain, OnRefusalFail:
		default:
			ps.add(field+".onRefusal", fmt.Sprintf("%q is not \"contain\" or \"fail\"", clip(rt.OnRefusal)))
		}
		if o := rt.Output; o != nil {
			switch o.Injection {
			case "", InjectionFlag, InjectionStrip, InjectionBlock:
			default:
				ps.add(field+".output.injection", fmt.Sprintf("%q is not \"flag\", \"strip\" or \"block\"", clip(o.Injection)))
			}
		}
	}
	checkWildcardOverrides(r.Tools, ps)
	if len(ps.list) > before {
		return nil
	}
	return &r
}

// checkWildcardOverrides refuses an entry for one tool that would drop a
// restriction the role's "*" entry sets. An entry replaces "*" for its
// tool entirely, so an entry added only to constrain an argument would
// silently lift the wildcard's rate, egress list and limits for that tool:
// the entry must state each of them itself (its own value, possibly a
// looser one, is an explicit decision; an absent one is not).
func checkWildcardOverrides(entries []RoleTool, ps *problems) {
	wild := slices.IndexFunc(entries, func(rt RoleTool) bool { return rt.Name == "*" })
	if wild < 0 {
		return
	}
	w := entries[wild]
	for i, rt := range entries {
		if i == wild || rt.Name == "" {
			continue
		}
		field := fmt.Sprintf("tools[%d]", i)
		drop := func(f, what string) {
			ps.add(field+"."+f, fmt.Sprintf("this entry replaces the \"*\" entry (tools[%d]) for tool %s, and %s, which this entry does not set: state it here too (an explicit value, even a looser one, is allowed)", wild, clip(rt.Name), what))
		}
		if w.Rate != nil && rt.Rate == nil {
			drop("rate", "\"*\" sets a rate")
		}
		if w.Egress != nil && rt.Egress == nil {
			drop("egress", "\"*\" narrows egress")
		}
		if w.Limits.Timeout > 0 && rt.Limits.Timeout == 0 {
			drop("limits.timeout", "\"*\" sets limits.timeout")
		}
		if w.Limits.Memory > 0 && rt.Limits.Memory == 0 {
			drop("limits.memory", "\"*\" sets limits.memory")
		}
		if w.Limits.Output > 0 && rt.Limits.Output == 0 {
			drop("limits.output", "\"*\" sets limits.output")
		}
		if w.OnRefusal != "" && rt.OnRefusal == "" {
			drop("onRefusal", "\"*\" sets onRefusal")
		}
		if w.Output != nil && rt.Output == nil {
			drop("output", "\"*\" sets output screening")
		}
	}
}

// checkMounts checks an entry's mounts and resolves their host paths
// against the role manifest's directory.
func checkMounts(field string, r *Role, rt *RoleTool, ps *problems) {
	if rt.Name == "*" && len(rt.Mounts) > 0 {
		ps.add(field+".mounts", "\"*\" stands for every tool, so it cannot mount directories; add an entry for the tool")
		return
	}
	seen := map[string]bool{}
	for j := range rt.Mounts {
		m := &rt.Mounts[j]
		f := fmt.Sprintf("%s.mounts[%d]", field, j)
		if why := checkGuestPath(m.Guest); why != "" {
			ps.add(f+".guest", why)
		} else if seen[m.Guest] {
			ps.add(f+".guest", fmt.Sprintf("%q is mounted twice", m.Guest))
		}
		seen[m.Guest] = true
		switch {
		case m.Host == "":
			ps.add(f+".host", "required: a host directory, relative to this manifest's directory")
		case len(m.Host) > maxMountPathBytes:
			ps.add(f+".host", fmt.Sprintf("is longer than %d bytes", maxMountPathBytes))
		case strings.ContainsRune(m.Host, 0) || hiddenChar(m.Host) != "":
			ps.add(f+".host", fmt.Sprintf("%q has a character a path cannot have", clip(m.Host)))
		default:
			host := filepath.FromSlash(m.Host)
			if !filepath.IsAbs(host) {
				base := "."
				if r.File != "" {
					base = filepath.Dir(r.File)
				}
				host = filepath.Join(base, host)
			}
			abs, err := filepath.Abs(host)
			if err != nil {
				ps.add(f+".host", "cannot resolve: "+err.Error())
			}
			m.abs = abs
		}
	}
	if len(rt.Mounts) == 0 {
		rt.Mounts = nil
	}
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
