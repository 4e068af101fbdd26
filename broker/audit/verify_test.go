package audit_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

func TestVerifyDetectsTampering(t *testing.T) {
	path := audittest.WriteLog(t, 5)
	good := audittest.ReadFile(t, path)
	ls := audittest.Lines(good)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	replaceIn := func(n int, old, new string) []byte {
		out := [][]byte{}
		for i, l := range ls {
			if i == n-1 {
				if !bytes.Contains(l, []byte(old)) {
					t.Fatalf("line %d has no %q", n, old)
				}
				l = bytes.Replace(l, []byte(old), []byte(new), 1)
			}
			out = append(out, l)
		}
		return join(out...)
	}
	tests := []struct {
		name string
		log  []byte
		line int
		kind string
	}{
		{"edit a field", replaceIn(2, `"subject":"alice@example.com"`, `"subject":"mallory@example.com"`), 2, audit.KindEdited},
		{"edit the decision", replaceIn(3, `"decision":"allow"`, `"decision":"deny"`), 3, audit.KindEdited},
		{"edit a hash", replaceIn(4, `"hash":"`, `"hash":"0`), 4, audit.KindEdited},
		{"edit prev", replaceIn(4, `"prev":"`, `"prev":"0`), 4, audit.KindEdited},
		{"edit seq", replaceIn(3, `{"seq":3,`, `{"seq":9,`), 3, audit.KindEdited},
		{"re-key tool as Tool", replaceIn(3, `"tool":`, `"Tool":`), 3, audit.KindEdited},
		{"re-key with long s", replaceIn(2, `"session":`, "\"\u017fession\":"), 2, audit.KindEdited},
		{"duplicate key", replaceIn(2, `"tool":"echo"`, `"tool":"rm","tool":"echo"`), 2, audit.KindEdited},
		{"added whitespace", replaceIn(5, `"tool":"echo"`, `"tool": "echo"`), 5, audit.KindEdited},
		{"escape spelt differently", replaceIn(2, `"tool":"echo"`, `"tool":"\u0065cho"`), 2, audit.KindEdited},
		{"CRLF line end", replaceIn(2, "}\n", "}\r\n"), 2, audit.KindMalformed},
		{"delete a line", join(ls[0], ls[2], ls[3], ls[4]), 2, audit.KindMissing},
		{"delete the first line", join(ls[1], ls[2], ls[3], ls[4]), 1, audit.KindMissing},
		{"delete two lines", join(ls[0], ls[1], ls[4]), 3, audit.KindMissing},
		{"swap two lines", join(ls[0], ls[2], ls[1], ls[3], ls[4]), 2, audit.KindReordered},
		{"move a line back", join(ls[0], ls[1], ls[3], ls[4], ls[2]), 3, audit.KindReordered},
		{"repeat a line", join(ls[0], ls[1], ls[1], ls[2], ls[3], ls[4]), 3, audit.KindReordered},
		{"truncate the tail mid-line", good[:len(good)-len(ls[4])/2], 5, audit.KindTorn},
		{"drop the last newline", good[:len(good)-1], 5, audit.KindTorn},
		{"garbage line", join(ls[0], []byte("hello\n"), ls[1]), 2, audit.KindMalformed},
		{"empty line", join(ls[0], []byte("\n"), ls[1]), 2, audit.KindMalformed},
		{"unknown field", replaceIn(2, `"tool":`, `"shell":"x","tool":`), 2, audit.KindMalformed},
		{"null line", join(ls[0], []byte("null\n")), 2, audit.KindMalformed},
		{"two records on a line", join(ls[0], bytes.TrimSuffix(ls[1], []byte("\n")), ls[1]), 2, audit.KindMalformed},
		{"wrong type", replaceIn(1, `"seq":1,`, `"seq":"1",`), 1, audit.KindMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := verifyBytes(t, tt.log)
			var ve *audit.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %+v, %v; want a *VerifyError at line %d, kind %s", rep, err, tt.line, tt.kind)
			}
			if ve.Line != tt.line || ve.Kind != tt.kind {
				t.Errorf("Verify error = %v; want line %d, kind %s", ve, tt.line, tt.kind)
			}
			if rep == nil || rep.Records >= tt.line {
				t.Errorf("Verify report = %+v, want fewer than %d records verified", rep, tt.line)
			}
		})
	}
}

func TestVerifyLongLine(t *testing.T) {
	path := audittest.WriteLog(t, 1)
	long := append(bytes.Repeat([]byte("x"), audit.MaxLineBytes+1), '\n')
	_, err := verifyBytes(t, append(audittest.ReadFile(t, path), long...))
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Line != 2 || ve.Kind != audit.KindMalformed || !strings.Contains(ve.Msg, "longer than") {
		t.Errorf("Verify(long line) = %v, want line 2 malformed, longer than the cap", err)
	}
}

func TestVerifyErrorMessage(t *testing.T) {
	err := &audit.VerifyError{Line: 7, Kind: audit.KindMissing, Msg: "seq jumps from 6 to 8"}
	if got, want := err.Error(), "line 7: missing: seq jumps from 6 to 8"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestVerifyEveryByteFlip(t *testing.T) {
	good := audittest.ReadFile(t, audittest.WriteLog(t, 2))
	for i := range good {
		for _, x := range []byte{0x01, 0x20} {
			b := bytes.Clone(good)
			b[i] ^= x
			if rep, err := verifyBytes(t, b); err == nil {
				t.Fatalf("flipping byte %d (%q) with %#x verifies: %+v", i, good[i], x, rep)
			}
		}
	}
}
