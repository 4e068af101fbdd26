package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

var update = flag.Bool("update", false, "rewrite the generated fuzz seeds in testdata/fuzz")

// FuzzVerify feeds Verify arbitrary bytes: it must never panic, and every
// rejection must be a *VerifyError. When the input is a valid log (as the
// valid-* seeds are), flipping any one byte must make it fail.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, pos uint32, xor byte) {
		rep, err := verifyBytes(t, data)
		if rep == nil {
			t.Fatalf("Verify returned a nil Report (err %v)", err)
		}
		if err != nil {
			var ve *audit.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify error %v (%T) is not a *VerifyError", err, err)
			}
			if ve.Line < 1 || ve.Kind == "" || rep.Records >= ve.Line {
				t.Fatalf("Verify error %v with report %+v: bad line or kind", ve, rep)
			}
			return
		}
		if n := bytes.Count(data, []byte("\n")); rep.Records != n {
			t.Fatalf("Verify passed %d lines as %d records", n, rep.Records)
		}
		if len(data) == 0 || xor == 0 {
			return
		}
		b := bytes.Clone(data)
		i := int(pos % uint32(len(b)))
		b[i] ^= xor
		if rep, err := verifyBytes(t, b); err == nil {
			t.Fatalf("valid log with byte %d flipped (%q→%q) verifies: %+v", i, data[i], b[i], rep)
		}
	})
}

// FuzzAppendVerify appends records carrying arbitrary strings (newlines,
// terminal escapes, invalid UTF-8) and arguments: every Append succeeds,
// the file has exactly one line per record with no raw control
// characters, it verifies, and the strings read back.
func FuzzAppendVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, tool, text string, args []byte) {
		path := filepath.Join(t.TempDir(), "audit.log")
		logger, _ := audittest.Logger()
		l, err := audit.Open(path, audit.Options{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		const n = 3
		for i := range n {
			r := audittest.Record(i)
			r.Tool, r.Error, r.Subject = tool, text, tool+text
			r.Roles = []string{text, tool}
			r.Egress = []audit.Egress{{Host: tool, Reason: text}}
			r.Flags = []string{text}
			r.Arguments = nil
			if json.Valid(args) {
				r.Arguments = args
			}
			if err := l.Append(context.Background(), r); err != nil {
				t.Fatalf("Append(%q, %q, %q): %v", tool, text, args, err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		b := audittest.ReadFile(t, path)
		checkLineBytes(t, b, n)
		rep, err := verifyBytes(t, b)
		if err != nil || rep.Records != n {
			t.Fatalf("Verify = %+v, %v; want %d records", rep, err, n)
		}
		var got audit.Record
		if err := json.Unmarshal(audittest.Lines(b)[n-1], &got); err != nil {
			t.Fatal(err)
		}
		if want := string([]rune(tool)); got.Tool != want {
			t.Errorf("Tool read back %q, want %q", got.Tool, want)
		}
		if want := string([]rune(text)); got.Error != want {
			t.Errorf("Error read back %q, want %q", got.Error, want)
		}
	})
}

// TestFuzzVerifySeeds keeps the valid-* seeds of FuzzVerify valid logs, so
// the one-byte-flip property is exercised; -update regenerates them.
func TestFuzzVerifySeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if *update {
		seeds := map[string][]*audit.Record{
			"valid-1":     {audittest.Record(1)},
			"valid-3":     {audittest.Record(1), audittest.Record(2), audittest.Record(3)},
			"valid-nasty": {nastyRecord()},
		}
		for name, recs := range seeds {
			path := filepath.Join(t.TempDir(), "audit.log")
			l := audittest.Open(t, path, audit.Options{})
			for _, r := range recs {
				if err := l.Append(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\nbyte(%d)\n", audittest.ReadFile(t, path), 17*len(recs), 1)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, "valid-*"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no valid-* seeds in %s (%v); run with -update", dir, err)
	}
	for _, name := range names {
		data := seedBytes(t, name)
		if rep, err := verifyBytes(t, data); err != nil || rep.Records == 0 {
			t.Errorf("seed %s: Verify = %+v, %v; want a valid log (run with -update)", name, rep, err)
		}
	}
}

// seedBytes reads the []byte argument of a fuzz seed file.
func seedBytes(t *testing.T, name string) []byte {
	t.Helper()
	var data []byte
	line := strings.Split(string(audittest.ReadFile(t, name)), "\n")[1]
	if _, err := fmt.Sscanf(line, "[]byte(%q)", &data); err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	return data
}

// nastyRecord carries every character that must not reach a line raw.
func nastyRecord() *audit.Record {
	r := audittest.Record(9)
	nasty := "line1\nline2\r\x1b[2J\x1b]0;pwned\x07\x00\x7f\u0085\u009b31m\u2028\u2029\xff\ufffd"
	r.Tool, r.Error, r.Subject = nasty, nasty, nasty
	r.Arguments = json.RawMessage("{\"cmd\":\"\x7f\u009b\u2028\xfe\"}")
	return r
}
