package manifests

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// CodeInvalid is the reason code of a [*LoadError].
const CodeInvalid = "manifest.invalid"

// Problem is one thing wrong with a manifest.
type Problem struct {
	// File is the manifest file as the caller named it ("" when the input
	// had no file, as for [CompileSchema]).
	File string
	// Field locates the problem: a dotted path to a manifest field
	// ("limits.timeout", "requires.egress[1]", "tools[0].rate"), continued
	// by a JSON pointer inside a schema ("inputSchema/properties/url/pattern").
	// "" means the file as a whole (or the schema's root).
	Field string
	// Why says what is wrong, e.g. `"5x" is not a duration`.
	Why string
}

// String returns the problem as "file: field: why", leaving out an empty
// file or field.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Why)
	return b.String()
}

// LoadError lists every problem found in one or more manifests.
//
// # Notes
//
// Problems is never empty. [LoadDir] sorts them by file, then field.
type LoadError struct {
	Problems []Problem
}

// Error returns the problems, one per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// ReasonCode returns [CodeInvalid].
func (e *LoadError) ReasonCode() string { return CodeInvalid }

// problems collects the problems of one file.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(field, why string) {
	ps.list = append(ps.list, Problem{File: ps.file, Field: visible(field), Why: visible(why)})
}

// visible escapes the characters of s a reader would not see (controls,
// zero-width and bidirectional characters, Unicode tags, anything not
// printable), so a problem cannot hide or rearrange text on a terminal.
func visible(s string) string {
	clean := true
	for _, r := range s {
		if r != ' ' && (hiddenKind(r) != "" || !unicode.IsPrint(r) || r == '\n' || r == '\t') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r != ' ' && (hiddenKind(r) != "" || !unicode.IsPrint(r) || r == '\n' || r == '\t') {
			fmt.Fprintf(&b, "\\u%04X", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// err returns the collected problems as a *LoadError, or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &LoadError{Problems: ps.list}
}

// join appends a member name to a dotted field path, quoting names that
// would read ambiguously.
func join(path, name string) string {
	if !plainName(name) {
		return path + "[" + strconv.QuoteToASCII(name) + "]"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$') {
			return false
		}
	}
	return true
}
