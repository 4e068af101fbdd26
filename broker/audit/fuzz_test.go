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
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
)

var update = flag.Bool("update", false, "rewrite the generated fuzz seeds in testdata/fuzz")

// FuzzVerify feeds Verify arbitrary bytes: it must never panic, and every
// rejection must be a *VerifyError. When the input is a valid log (as the
// valid-* seeds are), flipping any one byte must make it fail.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, pos uint32, xor byte) {
		rep, err := audit.Verify(bytes.NewReader(data))
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
		if rep, err := audit.Verify(bytes.NewReader(b)); err == nil {
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
		logger, _ := testLogger()
		l, err := audit.Open(path, audit.Options{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		const n = 3
		for i := range n {
			r := record(i)
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
		b := readFile(t, path)
		checkLineBytes(t, b, n)
		rep, err := audit.Verify(bytes.NewReader(b))
		if err != nil || rep.Records != n {
			t.Fatalf("Verify = %+v, %v; want %d records", rep, err, n)
		}
		var got audit.Record
		if err := json.Unmarshal(lines(b)[n-1], &got); err != nil {
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
			"valid-1":     {record(1)},
			"valid-3":     {record(1), record(2), record(3)},
			"valid-nasty": {nastyRecord()},
		}
		for name, recs := range seeds {
			path := filepath.Join(t.TempDir(), "audit.log")
			l := open(t, path, audit.Options{})
			for _, r := range recs {
				if err := l.Append(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\nbyte(%d)\n", readFile(t, path), 17*len(recs), 1)
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
		if rep, err := audit.Verify(bytes.NewReader(data)); err != nil || rep.Records == 0 {
			t.Errorf("seed %s: Verify = %+v, %v; want a valid log (run with -update)", name, rep, err)
		}
	}
}

// seedBytes reads the []byte argument of a fuzz seed file.
func seedBytes(t *testing.T, name string) []byte {
	t.Helper()
	var data []byte
	line := strings.Split(string(readFile(t, name)), "\n")[1]
	if _, err := fmt.Sscanf(line, "[]byte(%q)", &data); err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	return data
}

// nastyRecord carries every character that must not reach a line raw.
func nastyRecord() *audit.Record {
	r := record(9)
	nasty := "line1\nline2\r\x1b[2J\x1b]0;pwned\x07\x00\x7f\u0085\u009b31m\u2028\u2029\xff\ufffd"
	r.Tool, r.Error, r.Subject = nasty, nasty, nasty
	r.Arguments = json.RawMessage("{\"cmd\":\"\x7f\u009b\u2028\xfe\"}")
	return r
}

// fieldsOf returns the fields the query scan must read from r.
func fieldsOf(r *audit.Record) audit.Fields {
	return audit.Fields{Seq: r.Seq, Time: r.Time.Format(time.RFC3339Nano), Tenant: r.Tenant, Subject: r.Subject, Session: r.Session,
		Tool: r.Tool, Decision: r.Decision, Reason: r.Reason, Outcome: r.Outcome}
}

// FuzzQueryLine checks the fast field scan that Query and Follow use to
// read audit lines. On any line it must not panic; on a canonical line it
// must read exactly the fields the line decodes to; and on the line of
// any record (whatever its strings and arguments) it must succeed.
func FuzzQueryLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte, tenant, tool string, args []byte) {
		if got, ok := audit.ParseFields(line); ok {
			var rec audit.Record
			if json.Unmarshal(line, &rec) == nil {
				if canon, err := audit.Canonical(&rec); err == nil && bytes.Equal(canon, line) && got != fieldsOf(&rec) {
					t.Fatalf("ParseFields(%q) = %+v, want %+v", line, got, fieldsOf(&rec))
				}
			}
		}
		r := record(3)
		r.Seq = 1
		r.Tenant, r.Subject, r.Tool, r.Reason, r.Session = tenant, tool+tenant, tool, tenant, tool
		r.Arguments = nil
		if json.Valid(args) {
			r.Arguments = args
		}
		canon, err := audit.CanonicalLine(r)
		if err != nil {
			return
		}
		var back audit.Record
		if err := json.Unmarshal(canon, &back); err != nil {
			t.Fatalf("canonical line %q does not decode: %v", canon, err)
		}
		got, ok := audit.ParseFields(canon)
		if !ok || got != fieldsOf(&back) {
			t.Fatalf("ParseFields(%q) = %+v, %v; want %+v", canon, got, ok, fieldsOf(&back))
		}
	})
}

func TestParseFieldsOnLog(t *testing.T) {
	path, recs := variedLog(t, 40)
	i := 0
	files, _ := audit.Segments(path)
	for _, f := range files {
		for _, line := range lines(readFile(t, f)) {
			got, ok := audit.ParseFields(bytes.TrimSuffix(line, []byte("\n")))
			if want := fieldsOf(recs[i]); !ok || got != want {
				t.Errorf("line %d: ParseFields = %+v, %v; want %+v", i+1, got, ok, want)
			}
			i++
		}
	}
	if i != len(recs) {
		t.Errorf("read %d lines, want %d", i, len(recs))
	}
}
