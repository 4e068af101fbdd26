package strictjson

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// plain[c] is true for a byte that stands for itself inside a JSON string:
// printable ASCII other than '"' and '\\'. Everything else takes the slow
// path (end, escape, control character, or a UTF-8 sequence to validate).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// frame is one open object or array.
type frame struct {
	obj      bool
	keyStart int            // obj: index in scanner.keys of this object's first key
	index    int            // array: index of the element being scanned
	exact    map[string]int // obj with many keys: key → index in scanner.keys
	folded   map[string]int // as exact, keyed by the case-folded key
	// unchecked marks a container at or below Limits.Unchecked: its keys
	// are not compared.
	unchecked bool
}

// key is one object key, unescaped.
type key struct {
	b     []byte // a subslice of the input, or of the arena when it had escapes
	off   int    // offset of its opening quote
	ascii bool
}

// scanner is the state of one Check. It is used once.
type scanner struct {
	data   []byte
	i      int
	lim    Limits
	frames []frame
	keys   []key  // keys of every open object, outermost first
	high   [2]int // most frames and keys held at once: what putScanner clears
	arena  []byte // unescaped keys that had escapes
	// unchecked holds the reference tokens of Limits.Unchecked; nil when
	// every object's keys are checked.
	unchecked []string
}

// scanners recycles scanners, whose stacks would otherwise be allocated on
// every call.
var scanners = sync.Pool{New: func() any {
	return &scanner{frames: make([]frame, 0, 16), keys: make([]key, 0, 64)}
}}

// Pooled buffers larger than these are dropped rather than kept.
const (
	maxPooledFrames = 256
	maxPooledKeys   = 1024
	maxPooledArena  = 64 << 10
)

func getScanner(data []byte, lim Limits) *scanner {
	s := scanners.Get().(*scanner)
	s.data, s.lim, s.i = data, lim, 0
	s.unchecked = nil
	if lim.Unchecked != "" {
		s.unchecked = pointerTokens(lim.Unchecked)
	}
	return s
}

// putScanner returns s to the pool without references to the input.
func putScanner(s *scanner) {
	clear(s.frames[:s.high[0]])
	clear(s.keys[:s.high[1]])
	s.high = [2]int{}
	if cap(s.frames) > maxPooledFrames || cap(s.keys) > maxPooledKeys || cap(s.arena) > maxPooledArena {
		return
	}
	s.data = nil
	s.frames, s.keys, s.arena = s.frames[:0], s.keys[:0], s.arena[:0]
	scanners.Put(s)
}

// run scans the whole document.
func (s *scanner) run() error {
	data := s.data
	s.skipWS()
value:
	for {
		if s.i >= len(data) {
			return s.eof()
		}
		switch c := data[s.i]; {
		case c == '{':
			if err := s.push(true); err != nil {
				return err
			}
			s.i++
			s.skipWS()
			if s.i < len(data) && data[s.i] == '}' {
				s.i++
				s.pop()
				break
			}
			if err := s.member(); err != nil {
				return err
			}
			continue value
		case c == '[':
			if err := s.push(false); err != nil {
				return err
			}
			s.i++
			s.skipWS()
			if s.i < len(data) && data[s.i] == ']' {
				s.i++
				s.pop()
				break
			}
			continue value
		case c == '"':
			if _, _, err := s.scanString(false); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if err := s.number(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			return s.unexpected("a value")
		}

		// After a value: close containers, or move to the next member.
		for {
			s.skipWS()
			if len(s.frames) == 0 {
				if s.i < len(data) {
					return s.errorf(CodeTrailing, s.i, len(s.frames), "data after the JSON value")
				}
				return nil
			}
			if s.i >= len(data) {
				return s.eof()
			}
			f := &s.frames[len(s.frames)-1]
			switch c := data[s.i]; {
			case c == ',':
				s.i++
				s.skipWS()
				if f.obj {
					if err := s.member(); err != nil {
						return err
					}
				} else {
					f.index++
				}
				continue value
			case f.obj && c == '}', !f.obj && c == ']':
				s.i++
				s.pop()
			case f.obj:
				return s.unexpected("',' or '}' after an object member")
			default:
				return s.unexpected("',' or ']' after an array element")
			}
		}
	}
}

func (s *scanner) skipWS() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) push(obj bool) error {
	if len(s.frames) >= s.lim.MaxDepth {
		return s.errorf(CodeTooDeep, s.i, len(s.frames), "nesting deeper than the limit of %d", s.lim.MaxDepth)
	}
	unchecked := false
	if n := len(s.frames); n > 0 && s.frames[n-1].unchecked {
		unchecked = true
	} else if s.unchecked != nil && n == len(s.unchecked) {
		unchecked = s.atUnchecked()
	}
	s.frames = append(s.frames, frame{obj: obj, keyStart: len(s.keys), unchecked: unchecked})
	s.high[0] = max(s.high[0], len(s.frames))
	return nil
}

// atUnchecked reports whether the value about to be pushed is the one
// Limits.Unchecked names: every open container is an object whose current
// member is the next token of the pointer.
func (s *scanner) atUnchecked() bool {
	n := len(s.frames)
	for j := range n {
		f := s.frames[j]
		if !f.obj {
			return false
		}
		end := len(s.keys)
		if j+1 < n {
			end = s.frames[j+1].keyStart
		}
		if end <= f.keyStart || string(s.keys[end-1].b) != s.unchecked[j] {
			return false
		}
	}
	return true
}

// pointerTokens splits a JSON pointer ("/a/b~1c") into its unescaped
// reference tokens (["a", "b/c"]).
func pointerTokens(ptr string) []string {
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

func (s *scanner) pop() {
	f := &s.frames[len(s.frames)-1]
	if f.obj {
		s.keys = s.keys[:f.keyStart]
	}
	*f = frame{}
	s.frames = s.frames[:len(s.frames)-1]
}

// member scans an object key, checks it against the object's other keys,
// and consumes the ':' and the whitespace after it.
func (s *scanner) member() error {
	if s.i >= len(s.data) {
		return s.eof()
	}
	if s.data[s.i] != '"' {
		return s.unexpected("a string key")
	}
	off := s.i
	b, ascii, err := s.scanString(true)
	if err != nil {
		return err
	}
	if err := s.addKey(key{b: b, off: off, ascii: ascii}); err != nil {
		return err
	}
	s.skipWS()
	if s.i >= len(s.data) {
		return s.eof()
	}
	if s.data[s.i] != ':' {
		return s.unexpected("':' after an object key")
	}
	s.i++
	s.skipWS()
	return nil
}

// addKey records k as the next key of the innermost object, refusing a
// duplicate or (if asked) a case variant of an earlier key.
func (s *scanner) addKey(k key) error {
	f := &s.frames[len(s.frames)-1]
	if f.unchecked {
		return nil
	}
	prior := s.keys[f.keyStart:]
	depth := len(s.frames) - 1 // the error's path is the object's
	if f.exact == nil && len(prior) < linearKeyComparison {
		for _, p := range prior {
			if bytes.Equal(p.b, k.b) {
				return s.errorf(CodeDuplicateKey, k.off, depth, "duplicate key %s", quoteKey(k.b))
			}
			if s.lim.RejectCaseVariants && (len(p.b) == len(k.b) || !(p.ascii && k.ascii)) && bytes.EqualFold(p.b, k.b) {
				return s.errorf(CodeCaseVariantKey, k.off, depth, "key %s is a case variant of key %s", quoteKey(k.b), quoteKey(p.b))
			}
		}
	} else {
		if f.exact == nil {
			f.exact = make(map[string]int, 2*len(prior))
			if s.lim.RejectCaseVariants {
				f.folded = make(map[string]int, 2*len(prior))
			}
			for j, p := range prior {
				f.exact[string(p.b)] = f.keyStart + j
				if f.folded != nil {
					f.folded[fold(p.b)] = f.keyStart + j
				}
			}
		}
		if _, ok := f.exact[string(k.b)]; ok {
			return s.errorf(CodeDuplicateKey, k.off, depth, "duplicate key %s", quoteKey(k.b))
		}
		f.exact[string(k.b)] = len(s.keys)
		if f.folded != nil {
			fk := fold(k.b)
			if j, ok := f.folded[fk]; ok {
				return s.errorf(CodeCaseVariantKey, k.off, depth, "key %s is a case variant of key %s", quoteKey(k.b), quoteKey(s.keys[j].b))
			}
			f.folded[fk] = len(s.keys)
		}
	}
	s.keys = append(s.keys, k)
	s.high[1] = max(s.high[1], len(s.keys))
	return nil
}

// fold maps b to a string that is equal for two keys exactly when
// strings.EqualFold holds between them: each rune becomes the smallest rune
// of its simple case-folding orbit ("k", "K" and U+212A KELVIN SIGN all
// become "K").
func fold(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			sb.WriteByte(byte(r))
			continue
		}
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		sb.WriteRune(m)
	}
	return sb.String()
}

// scanString scans the string whose opening quote is at s.i and leaves s.i
// after its closing quote. When unescape is set it returns the string's
// contents, unescaped; ascii reports whether they are all ASCII.
func (s *scanner) scanString(unescape bool) (b []byte, ascii bool, err error) {
	data := s.data
	start := s.i
	i := start + 1
	ascii, escaped := true, false
	for {
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i >= len(data) {
			return nil, false, s.errorf(CodeSyntax, start, len(s.frames), "unterminated string")
		}
		switch c := data[i]; {
		case c == '"':
			s.i = i + 1
			if !unescape {
				return nil, ascii, nil
			}
			if !escaped {
				return data[start+1 : i], ascii, nil
			}
			return s.unescape(data[start+1 : i]), ascii, nil
		case c == '\\':
			escaped = true
			n, nonASCII, err := s.escape(i)
			if err != nil {
				return nil, false, err
			}
			if nonASCII {
				ascii = false
			}
			i += n
		case c < 0x20:
			return nil, false, s.errorf(CodeSyntax, i, len(s.frames), "control character %U in string (escape it)", rune(c))
		default:
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, false, s.errorf(CodeUTF8, i, len(s.frames), "invalid UTF-8 in string")
			}
			ascii = false
			i += n
		}
	}
}

// escape validates the escape sequence at i (a backslash) and returns its
// length and whether it stands for a non-ASCII rune.
func (s *scanner) escape(i int) (n int, nonASCII bool, err error) {
	data := s.data
	if i+1 >= len(data) {
		return 0, false, s.errorf(CodeSyntax, i, len(s.frames), "unterminated string")
	}
	switch data[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, false, nil
	case 'u':
	default:
		return 0, false, s.errorf(CodeSyntax, i, len(s.frames), "invalid escape %q in string", data[i:i+2])
	}
	u, ok := hex4(data[i+2:])
	if !ok {
		return 0, false, s.errorf(CodeSyntax, i, len(s.frames), "invalid \\u escape in string")
	}
	switch {
	case u < 0x80:
		return 6, false, nil
	case u >= 0xDC00 && u <= 0xDFFF:
		return 0, false, s.errorf(CodeUTF8, i, len(s.frames), "escaped lone surrogate \\u%04x in string", u)
	case u < 0xD800 || u > 0xDFFF:
		return 6, true, nil
	}
	// A high surrogate must be followed by an escaped low surrogate.
	if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
		if lo, ok := hex4(data[i+8:]); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return 12, true, nil
		}
	}
	return 0, false, s.errorf(CodeUTF8, i, len(s.frames), "escaped lone surrogate \\u%04x in string", u)
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape decodes the contents of a string scanString has validated into
// the arena.
func (s *scanner) unescape(in []byte) []byte {
	start := len(s.arena)
	s.arena = appendUnescaped(s.arena, in)
	return s.arena[start:len(s.arena):len(s.arena)]
}

// appendUnescaped appends the contents of a JSON string Check has
// accepted (between its quotes), with its escapes decoded, to dst.
func appendUnescaped(dst, in []byte) []byte {
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch in[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(in[i+2:])
			if r >= 0xD800 && r <= 0xDBFF {
				lo, _ := hex4(in[i+8:])
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			dst = append(dst, in[i+1])
		}
		i += 2
	}
	return dst
}

// number scans a number at s.i (RFC 8259 grammar).
func (s *scanner) number() error {
	data := s.data
	start, i := s.i, s.i
	if data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case digits() == 0:
		return s.badNumber(start, i)
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return s.badNumber(start, i)
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return s.badNumber(start, i)
		}
	}
	if i < len(data) && wordByte(data[i]) {
		return s.badNumber(start, i)
	}
	s.i = i
	return nil
}

func (s *scanner) badNumber(start, at int) error {
	if at >= len(s.data) {
		return s.eof()
	}
	return s.errorf(CodeSyntax, at, len(s.frames), "invalid number starting at offset %d", start)
}

// wordByte reports whether c would continue a number or literal.
func wordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '+' || c == '-' || c == '_'
}

func (s *scanner) literal(lit string) error {
	rest := s.data[s.i:]
	if len(rest) < len(lit) {
		if string(rest) == lit[:len(rest)] {
			return s.eof()
		}
		return s.unexpected("a value")
	}
	if string(rest[:len(lit)]) != lit || (len(rest) > len(lit) && wordByte(rest[len(lit)])) {
		return s.unexpected("a value")
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) eof() error {
	return s.errorf(CodeSyntax, len(s.data), len(s.frames), "unexpected end of input")
}

// unexpected reports the byte at s.i, which is not what want describes.
func (s *scanner) unexpected(want string) error {
	c := s.data[s.i]
	if c >= utf8.RuneSelf {
		r, n := utf8.DecodeRune(s.data[s.i:])
		if r == utf8.RuneError && n <= 1 {
			return s.errorf(CodeUTF8, s.i, len(s.frames), "invalid UTF-8")
		}
		return s.errorf(CodeSyntax, s.i, len(s.frames), "unexpected %q, want %s", r, want)
	}
	return s.errorf(CodeSyntax, s.i, len(s.frames), "unexpected %q, want %s", c, want)
}

// errorf builds an Error at offset off whose path runs through the first
// depth open containers.
func (s *scanner) errorf(code string, off, depth int, format string, args ...any) error {
	return &Error{Code: code, Offset: int64(off), Path: s.path(depth), Msg: fmt.Sprintf(format, args...)}
}

// path returns the JSON pointer of the member or element being scanned in
// each of the first depth open containers.
func (s *scanner) path(depth int) string {
	var b strings.Builder
	for j := 0; j < depth && j < len(s.frames); j++ {
		f := s.frames[j]
		if !f.obj {
			fmt.Fprintf(&b, "/%d", f.index)
			continue
		}
		end := len(s.keys)
		for k := j + 1; k < len(s.frames); k++ {
			if s.frames[k].obj {
				end = s.frames[k].keyStart
				break
			}
		}
		if end > f.keyStart {
			b.WriteByte('/')
			b.WriteString(PointerToken(string(s.keys[end-1].b)))
		}
	}
	return b.String()
}

// quoteKey quotes a key for a message in ASCII, so that look-alikes such
// as the Kelvin sign show as escapes.
func quoteKey(b []byte) string {
	if len(b) > maxKeyInMessage {
		n := maxKeyInMessage
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		return fmt.Sprintf("%+q...", b[:n])
	}
	return fmt.Sprintf("%+q", b)
}
