package strictjson

import "bytes"

// StringEnd returns the index just after the closing quote of the JSON
// string whose contents start at b[i] (just after its opening quote), or
// -1 if the string is not closed. It finds the first quote not escaped by
// an odd run of backslashes; it does not check the escapes themselves.
func StringEnd(b []byte, i int) int {
	for j := i; j < len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		bs := 0
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// SkipValue returns the index just after the JSON value starting at b[i],
// or -1 if it runs past the end of b. It is for text already known to be
// JSON (accepted by [Check], or written by this program): it follows only
// strings and nesting, and a number or literal ends at the next comma,
// closing bracket or whitespace.
func SkipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return StringEnd(b, i+1)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := StringEnd(b, j+1)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return -1
}
