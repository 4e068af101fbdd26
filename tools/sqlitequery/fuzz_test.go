package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckQuery checks the statement splitter never panics, is
// deterministic, and accepts only one statement starting with a read
// keyword.
func FuzzCheckQuery(f *testing.F) {
	for _, s := range []string{
		"SELECT 1",
		"select * from t; -- c",
		"WITH t(x) AS (SELECT 1) SELECT x FROM t",
		"VALUES (1, 'a;b')",
		`SELECT "a;""b", [c;d], ` + "`e;f`" + ` FROM t /* ; */`,
		"SELECT 1; DELETE FROM t",
		"/* unterminated ; comment",
		"SELECT 'unterminated ; string",
		"PRAGMA query_only=OFF",
		"\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		err := checkQuery(q)
		if again := checkQuery(q); (err == nil) != (again == nil) {
			t.Fatalf("checkQuery(%q) is not deterministic: %v then %v", q, err, again)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), errRefused) || !utf8.ValidString(err.Error()) {
				t.Fatalf("checkQuery(%q) error %q: want a valid UTF-8 refusal", q, err)
			}
			return
		}
		if !utf8.ValidString(q) || strings.IndexByte(q, 0) >= 0 || len(q) > maxQueryBytes {
			t.Fatalf("checkQuery(%q) accepted invalid text", q)
		}
		word := strings.ToUpper(strings.TrimLeft(stripLeading(q), " \t\n\r\f"))
		if !strings.HasPrefix(word, "SELECT") && !strings.HasPrefix(word, "WITH") && !strings.HasPrefix(word, "VALUES") {
			t.Fatalf("checkQuery(%q) accepted a statement that does not start with a read keyword", q)
		}
	})
}

// stripLeading removes leading whitespace and comments.
func stripLeading(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\n\r\f")
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q[2:], "*/")
			if i < 0 {
				return ""
			}
			q = q[i+4:]
		default:
			return q
		}
	}
}
