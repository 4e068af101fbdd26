package main

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// readKeywords are the words a read statement may start with.
var readKeywords = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true}

// checkQuery refuses, before SQLite sees it, anything but one statement
// starting SELECT, WITH or VALUES. It splits the text the way SQLite's
// tokenizer does (string literals, the three quoted identifier forms and
// both comment forms hide a semicolon), so a second statement after a
// semicolon is refused whatever it is. The authorizer then checks what
// the statement actually does.
func checkQuery(q string) error {
	switch {
	case !utf8.ValidString(q):
		return errors.New(errRefused + "the query is not valid UTF-8")
	case strings.IndexByte(q, 0) >= 0:
		return errors.New(errRefused + "the query contains a NUL byte")
	case len(q) > maxQueryBytes:
		return errors.New(errRefused + "the query is longer than 65536 bytes")
	}
	first := "" // the first token, whatever its kind
	end := -1   // offset of the first top-level semicolon
	for i := 0; i < len(q) && end < 0; {
		c := q[i]
		j := i + 1 // end of the token at i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			if n := strings.IndexByte(q[i:], '\n'); n >= 0 {
				i += n + 1
			} else {
				i = len(q)
			}
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			if n := strings.Index(q[i+2:], "*/"); n >= 0 {
				i += n + 4
			} else {
				i = len(q) // SQLite ends an unterminated comment at the end
			}
			continue
		case c == ';':
			end = i
			continue
		case c == '\'' || c == '"' || c == '`':
			j = skipQuoted(q, i, c)
		case c == '[':
			if n := strings.IndexByte(q[i:], ']'); n >= 0 {
				j = i + n + 1
			} else {
				j = len(q)
			}
		case isWordByte(c):
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
		}
		if first == "" {
			first = q[i:j]
		}
		i = j
	}
	if first == "" {
		return errors.New(errRefused + "the query holds no statement")
	}
	if end >= 0 && !blank(q[end+1:]) {
		return errors.New(errRefused + "only one statement may run (found text after ';')")
	}
	if !readKeywords[strings.ToUpper(first)] {
		return errors.New(errRefused + "only a read statement (SELECT, WITH or VALUES) may run, not " + quoteWord(first))
	}
	return nil
}

// skipQuoted returns the offset just past the quoted token starting at
// q[i] with quote character c, where a doubled quote is an escaped one. An
// unterminated token runs to the end (SQLite then fails to prepare it).
func skipQuoted(q string, i int, c byte) int {
	for j := i + 1; j < len(q); j++ {
		if q[j] != c {
			continue
		}
		if j+1 < len(q) && q[j+1] == c {
			j++
			continue
		}
		return j + 1
	}
	return len(q)
}

// blank reports whether s holds only whitespace and comments.
func blank(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			n := strings.IndexByte(s[i:], '\n')
			if n < 0 {
				return true
			}
			i += n + 1
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			n := strings.Index(s[i+2:], "*/")
			if n < 0 {
				return true
			}
			i += n + 4
		default:
			return false
		}
	}
	return true
}

// isWordByte reports whether c can be part of a keyword or identifier (any
// byte of a multi-byte UTF-8 character can).
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// quoteWord shortens a word for an error message.
func quoteWord(w string) string {
	if len(w) > 32 {
		w = w[:32] + "..."
	}
	return `"` + strings.ToValidUTF8(w, "") + `"`
}
