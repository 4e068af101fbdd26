package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxLineBytes is the longest line, newline excluded, that [Verify] accepts
// and [Log.Append] writes. A longer line is malformed; a longer record is
// refused with [CodeInvalidRecord].
const MaxLineBytes = 16 << 20

// The canonical encoding of a Record starts with its seq and ends with its
// prev and hash: encoding/json writes fields in struct order.
const (
	headNoSeq = `{"seq":`
	tailEmpty = `"prev":"","hash":""}`
	hashKey   = `","hash":"`
)

// encodeBody returns the canonical encoding of r without its chain fields:
// the bytes between the seq value and the "prev" key, `,"time":…,`. Every
// record's line is `{"seq":N` + body + `"prev":"P","hash":"H"}`.
func encodeBody(r *Record) ([]byte, error) {
	c := *r
	c.Seq, c.Prev, c.Hash = 0, "", ""
	b, err := canonical(&c)
	if err != nil {
		return nil, err
	}
	start := len(headNoSeq) + len("0")
	if !bytes.HasPrefix(b, []byte(headNoSeq+"0,")) || !bytes.HasSuffix(b, []byte(tailEmpty)) || len(b) < start+len(tailEmpty) {
		return nil, errors.New("unexpected field order in encoded record")
	}
	return b[start : len(b)-len(tailEmpty)], nil
}

// canonical returns the canonical JSON encoding of r: encoding/json's, with
// the extra escapes of escapeLine.
func canonical(r *Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return EscapeLine(b), nil
}

// appendLine appends the sealed line for a record with the given seq, body
// (from encodeBody) and prev hash, newline included, and returns it with the
// record's hash.
func appendLine(dst []byte, seq uint64, body []byte, prev string) ([]byte, string) {
	start := len(dst)
	dst = append(dst, headNoSeq...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, body...)
	dst = append(dst, `"prev":"`...)
	dst = append(dst, prev...)
	dst = append(dst, hashKey...)
	hash := chainHash(prev, dst[start:])
	dst = append(dst, hash...)
	dst = append(dst, "\"}\n"...)
	return dst, hash
}

// chainHash returns hex(SHA-256(prev + "\n" + open + `"}`)), where open is a
// canonical line cut just after its `"hash":"`: the canonical record with
// an empty hash.
func chainHash(prev string, open []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(open)
	h.Write([]byte(`"}`))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// EscapeLine escapes what encoding/json leaves raw but a line-oriented
// reader or a terminal may act on: DEL (U+007F), the C1 controls
// U+0080–U+009F, U+2028 and U+2029 become \u00XX / \u20XX escapes, and
// U+FFFD and every byte that is not part of valid UTF-8 become \ufffd. In
// JSON produced by encoding/json such bytes occur only inside strings
// (strings and RawMessage values), so escaping them in place keeps the
// value and the structure. The output is ASCII plus valid UTF-8 from
// U+00A0 up (U+FFFD excepted), and escapeLine of it returns it unchanged.
func EscapeLine(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError:
			// An invalid byte, or U+FFFD itself: encoding/json writes the
			// first as \ufffd and the second raw, so one spelling is chosen.
			out = append(out, `\ufffd`...)
		case r == 0x7f, r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029':
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// EncodeLine returns the canonical encoding of r: the line the log holds
// for it, without the newline. It is one line of ASCII and valid UTF-8 with
// every control character escaped, so it is safe to print to a terminal.
func EncodeLine(r *Record) ([]byte, error) { return canonical(r) }
