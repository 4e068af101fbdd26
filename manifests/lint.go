package manifests

import (
	"fmt"
	"unicode/utf8"
)

// hiddenChar returns a description of the first character in s that a
// reader would not see but a model would read (or a terminal would act
// on), or "" if there is none:
//
//   - Unicode tags U+E0000–U+E007F (invisible ASCII look-alikes),
//   - zero-width characters U+200B–U+200F, U+2060–U+2064, U+FEFF,
//   - bidirectional controls U+202A–U+202E, U+2066–U+2069,
//   - C0 controls other than tab and newline (ANSI escapes start with
//     U+001B), DEL, and C1 controls U+0080–U+009F.
func hiddenChar(s string) string {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return fmt.Sprintf("invalid UTF-8 at byte %d", i)
			}
		}
		if kind := hiddenKind(r); kind != "" {
			return fmt.Sprintf("hidden character %U (%s) at byte %d", r, kind, i)
		}
	}
	return ""
}

func hiddenKind(r rune) string {
	switch {
	case r == '\n' || r == '\t':
		return ""
	case r == 0x1B:
		return "escape: starts an ANSI terminal sequence"
	case r < 0x20 || r == 0x7F:
		return "control character"
	case r >= 0x80 && r <= 0x9F:
		return "C1 control character"
	case r >= 0xE0000 && r <= 0xE007F:
		return "Unicode tag: invisible text"
	case r >= 0x200B && r <= 0x200F, r >= 0x2060 && r <= 0x2064, r == 0xFEFF:
		return "zero-width character"
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return "bidirectional control"
	}
	return ""
}
