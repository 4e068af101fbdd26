package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

type coded interface {
	error
	ReasonCode() string
}

func reasonCode(err error) string {
	if c, ok := errors.AsType[coded](err); ok {
		return c.ReasonCode()
	}
	return ""
}

func TestAppendVerify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{})
	recs := audittest.AppendN(t, l, 1, 3)
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d: Seq = %d, want %d", i, r.Seq, i+1)
		}
		want := ""
		if i > 0 {
			want = recs[i-1].Hash
		}
		if r.Prev != want {
			t.Errorf("record %d: Prev = %q, want %q", i, r.Prev, want)
		}
		if len(r.Hash) != 64 {
			t.Errorf("record %d: Hash = %q, want 64 hex digits", i, r.Hash)
		}
	}
	// Durable on return: the file holds the records before Close.
	if got := bytes.Count(audittest.ReadFile(t, path), []byte("\n")); got != 3 {
		t.Errorf("after 3 Appends the file has %d lines, want 3", got)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rep, err := audit.Verify(path, audit.VerifyConfig{})
	if err != nil {
		t.Fatalf("VerifyFile: %v", err)
	}
	if rep.Records != 3 || rep.Head != recs[2].Hash {
		t.Errorf("VerifyFile = %+v, want 3 records, head %s", rep, recs[2].Hash)
	}
	// Each line decodes back to the record appended.
	for i, line := range audittest.Lines(audittest.ReadFile(t, path)) {
		var got audit.Record
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if got.Tool != "echo" || got.Seq != recs[i].Seq || got.Hash != recs[i].Hash || !got.Time.Equal(recs[i].Time) {
			t.Errorf("line %d = %+v, want %+v", i+1, got, recs[i])
		}
	}
}

func TestVerifyEmpty(t *testing.T) {
	rep, err := verifyBytes(t, nil)
	if err != nil || rep.Records != 0 || rep.Head != "" {
		t.Errorf("Verify(empty) = %+v, %v; want 0 records, no error", rep, err)
	}
}

func TestReopenContinuesChain(t *testing.T) {
	path := audittest.WriteLog(t, 2)
	l := audittest.Open(t, path, audit.Options{})
	recs := audittest.AppendN(t, l, 3, 2)
	if recs[0].Seq != 3 {
		t.Errorf("first Seq after reopen = %d, want 3", recs[0].Seq)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(path, audit.VerifyConfig{})
	if err != nil || rep.Records != 4 || rep.Head != recs[1].Hash {
		t.Errorf("VerifyFile = %+v, %v; want 4 records, head %s", rep, err, recs[1].Hash)
	}
}

func TestOpenRecoversTornLine(t *testing.T) {
	path := audittest.WriteLog(t, 3)
	good := audittest.ReadFile(t, path)
	// kill -9 in the middle of writing record 4.
	fragment := audittest.Lines(good)[2][:40]
	audittest.WriteFile(t, path, append(append([]byte{}, good...), fragment...))

	if _, err := audit.Verify(path, audit.VerifyConfig{}); kindOf(err) != audit.KindTorn {
		t.Errorf("VerifyFile(torn) = %v, want kind %q", err, audit.KindTorn)
	}
	logger, logs := audittest.Logger()
	l := audittest.Open(t, path, audit.Options{Logger: logger})
	if !strings.Contains(logs.String(), "torn") || !strings.Contains(logs.String(), "not tampering") {
		t.Errorf("Open logged %q, want a torn-line warning", logs.String())
	}
	saved, _ := filepath.Glob(path + ".torn-*")
	if len(saved) != 1 {
		t.Fatalf("torn copies = %v, want 1", saved)
	}
	if got := audittest.ReadFile(t, saved[0]); !bytes.Equal(got, fragment) {
		t.Errorf("torn copy holds %q, want %q", got, fragment)
	}
	if got := audittest.ReadFile(t, path); !bytes.Equal(got, good) {
		t.Errorf("after Open the log is %d bytes, want the %d good ones", len(got), len(good))
	}
	recs := audittest.AppendN(t, l, 4, 1)
	if recs[0].Seq != 4 {
		t.Errorf("Seq after torn recovery = %d, want 4", recs[0].Seq)
	}
	l.Close()
	if rep, err := audit.Verify(path, audit.VerifyConfig{}); err != nil || rep.Records != 4 {
		t.Errorf("VerifyFile = %+v, %v; want 4 records", rep, err)
	}
}

func TestOpenRefusesBrokenLog(t *testing.T) {
	path := audittest.WriteLog(t, 3)
	b := bytes.Replace(audittest.ReadFile(t, path), []byte(`"tenant":"acme"`), []byte(`"tenant":"evil"`), 1)
	audittest.WriteFile(t, path, b)

	_, err := audit.Open(path, audit.Options{})
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Line != 1 || ve.Kind != audit.KindEdited {
		t.Fatalf("Open(edited log) = %v, want a *VerifyError at line 1, kind edited", err)
	}
	if !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "AllowBroken") {
		t.Errorf("Open error %q should name the line and the way out", err)
	}
	if got := audittest.ReadFile(t, path); !bytes.Equal(got, b) {
		t.Error("a refused Open changed the file")
	}

	logger, logs := audittest.Logger()
	l := audittest.Open(t, path, audit.Options{AllowBroken: true, Logger: logger})
	if !strings.Contains(logs.String(), "fails verification") {
		t.Errorf("Open(AllowBroken) logged %q, want the verification failure", logs.String())
	}
	recs := audittest.AppendN(t, l, 4, 1)
	if recs[0].Seq != 4 {
		t.Errorf("Seq after broken log = %d, want 4", recs[0].Seq)
	}
	l.Close()
	if _, err := audit.Verify(path, audit.VerifyConfig{}); !errors.As(err, &ve) || ve.Line != 1 {
		t.Errorf("VerifyFile = %v, want the old break at line 1 still reported", err)
	}
}

func TestOpenLocksLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	audittest.Open(t, path, audit.Options{})
	if l, err := audit.Open(path, audit.Options{}); err == nil {
		l.Close()
		t.Fatal("second Open of a log in use succeeded, want an error")
	} else if !strings.Contains(err.Error(), "open elsewhere") {
		t.Errorf("second Open = %v, want it to say the log is open elsewhere", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts audit.Options
		want string
	}{
		{"directory", dir, audit.Options{}, "open audit log"},
		{"missing directory", filepath.Join(dir, "nope", "audit.log"), audit.Options{}, "no such file"},
		{"negative every", filepath.Join(dir, "a.log"), audit.Options{CheckpointEvery: -1}, "Options.CheckpointEvery"},
		{"negative interval", filepath.Join(dir, "a.log"), audit.Options{CheckpointInterval: -1}, "Options.CheckpointInterval"},
		{"short key", filepath.Join(dir, "a.log"), audit.Options{SigningKey: make([]byte, 10)}, "Options.SigningKey"},
		{"origin with newline", filepath.Join(dir, "a.log"), audit.Options{Origin: "a\nb"}, "Options.Origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := audit.Open(tt.path, tt.opts)
			if err == nil {
				l.Close()
				t.Fatalf("Open(%s) succeeded, want error containing %q", tt.path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%s) = %v, want error containing %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestAppendInvalidRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{})
	r := audittest.Record(1)
	r.Arguments = json.RawMessage(`{"unterminated":`)
	err := l.Append(context.Background(), r)
	if got := reasonCode(err); got != audit.CodeInvalidRecord {
		t.Errorf("Append(bad arguments) code = %q (%v), want %q", got, err, audit.CodeInvalidRecord)
	}
	// The log stays usable and the chain has no gap.
	recs := audittest.AppendN(t, l, 2, 1)
	if recs[0].Seq != 1 {
		t.Errorf("Seq after a refused record = %d, want 1", recs[0].Seq)
	}
}

func TestAppendAfterClose(t *testing.T) {
	// In a synctest bubble: the test fails if the Log's writer goroutine
	// outlives Close.
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.log")
		l := audittest.Open(t, path, audit.Options{})
		audittest.AppendN(t, l, 1, 1)
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v, want nil", err)
		}
		err := l.Append(context.Background(), audittest.Record(2))
		if got := reasonCode(err); got != audit.CodeUnavailable || !errors.Is(err, audit.ErrClosed) {
			t.Errorf("Append after Close = %v (code %q), want %q wrapping ErrClosed", err, got, audit.CodeUnavailable)
		}
	})
}

func TestAppendCanceledContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Append(ctx, audittest.Record(1))
	if reasonCode(err) != audit.CodeUnavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("Append(canceled ctx) = %v, want %s wrapping context.Canceled", err, audit.CodeUnavailable)
	}
	l.Close()
	if rep, err := audit.Verify(path, audit.VerifyConfig{}); err != nil || rep.Records != 0 {
		t.Errorf("VerifyFile = %+v, %v; want no record written for a canceled context", rep, err)
	}
}

func TestConcurrentAppenders(t *testing.T) {
	// In a synctest bubble: the test fails if the Log's writer goroutine
	// outlives Close.
	synctest.Test(t, func(t *testing.T) {
		const writers, each = 16, 25
		path := filepath.Join(t.TempDir(), "audit.log")
		l := audittest.Open(t, path, audit.Options{})
		var wg sync.WaitGroup
		seqs := make([][]uint64, writers)
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					r := audittest.Record(w*each + i)
					r.Subject = fmt.Sprintf("writer-%d", w)
					if err := l.Append(context.Background(), r); err != nil {
						errs <- err
						return
					}
					seqs[w] = append(seqs[w], r.Seq)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Append: %v", err)
		}
		// Every Append returned: every record is in the file before Close.
		durable := bytes.Count(audittest.ReadFile(t, path), []byte("\n"))
		if durable != writers*each {
			t.Errorf("file has %d lines after all Appends returned, want %d", durable, writers*each)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		rep, err := audit.Verify(path, audit.VerifyConfig{})
		if err != nil || rep.Records != writers*each {
			t.Fatalf("VerifyFile = %+v, %v; want %d records", rep, err, writers*each)
		}
		seen := map[uint64]bool{}
		for w, s := range seqs {
			for i := 1; i < len(s); i++ {
				if s[i] <= s[i-1] {
					t.Errorf("writer %d: seq %d after %d", w, s[i], s[i-1])
				}
			}
			for _, q := range s {
				if seen[q] {
					t.Errorf("seq %d given twice", q)
				}
				seen[q] = true
			}
		}
	})
}

func TestEscaping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{})
	nasty := "a\nb\r\x1b[31mred\x1b[0m\x07\x7f\u0085\u009b2J\u2028\u2029\xff\xfe<script>"
	r := audittest.Record(1)
	r.Error = nasty
	r.Tool = nasty
	r.Arguments = json.RawMessage("{\"k\":\"\x7f\u0085\u009b\xff\u2028<\"}")
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatalf("Append: %v", err)
	}
	l.Close()
	b := audittest.ReadFile(t, path)
	checkLineBytes(t, b, 1)
	var got audit.Record
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if want := string([]rune(nasty)); got.Tool != want {
		t.Errorf("Tool round trip = %q, want %q", got.Tool, want)
	}
	if _, err := audit.Verify(path, audit.VerifyConfig{}); err != nil {
		t.Errorf("VerifyFile: %v", err)
	}
}

// checkLineBytes checks that b is n lines of ASCII and valid UTF-8 with no
// control characters, DEL, C1 controls or line separators.
func checkLineBytes(t *testing.T, b []byte, n int) {
	t.Helper()
	if got := bytes.Count(b, []byte("\n")); got != n || (n > 0 && b[len(b)-1] != '\n') {
		t.Fatalf("file has %d newlines, want %d lines", got, n)
	}
	for i, r := range string(b) {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029':
			t.Fatalf("byte %d: raw %U in the log", i, r)
		case r == '\ufffd' && !bytes.HasPrefix(b[i:], []byte{0xef, 0xbf, 0xbd}):
			t.Fatalf("byte %d: invalid UTF-8 in the log", i)
		}
	}
}

func kindOf(err error) string {
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		return ve.Kind
	}
	return ""
}

func TestAppendUnavailable(t *testing.T) {
	// In a synctest bubble: the test fails if the Log's writer goroutine
	// outlives Close.
	synctest.Test(t, func(t *testing.T) {
		// The file is closed underneath the Log (see export_test.go), so the
		// next write fails: that Append and every later one fail closed.
		path := filepath.Join(t.TempDir(), "audit.log")
		logger, logs := audittest.Logger()
		l := audittest.Open(t, path, audit.Options{Logger: logger})
		audittest.AppendN(t, l, 1, 2)
		audit.CloseFileUnderneath(l)
		for i := range 3 {
			err := l.Append(context.Background(), audittest.Record(3+i))
			if got := reasonCode(err); got != audit.CodeUnavailable {
				t.Errorf("Append %d after the file broke: code %q (%v), want %q", i, got, err, audit.CodeUnavailable)
			}
		}
		if !strings.Contains(logs.String(), "refusing appends until it can write again") {
			t.Errorf("logged %q, want the failure", logs.String())
		}
		if err := l.Close(); reasonCode(err) != audit.CodeUnavailable {
			t.Errorf("Close of a failed Log = %v, want the %s failure", err, audit.CodeUnavailable)
		}
		if rep, err := audit.Verify(path, audit.VerifyConfig{}); err != nil || rep.Records != 2 {
			t.Errorf("VerifyFile = %+v, %v; want the 2 durable records intact", rep, err)
		}
	})
}

// TestLogHeals breaks the log's file under it, as a full disk would, then
// lets it write again: appends are refused while it is down, and resume by
// themselves once it can write, after a record of the outage; the chain
// verifies across it.
func TestLogHeals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.log")
		logger, logs := audittest.Logger()
		l := audittest.Open(t, path, audit.Options{Logger: logger, SigningKey: testKey, CheckpointEvery: 1})
		audittest.AppendN(t, l, 1, 2)
		audit.CloseFileUnderneath(l)
		for i := range 3 {
			if err := l.Append(context.Background(), audittest.Record(3+i)); reasonCode(err) != audit.CodeUnavailable {
				t.Fatalf("Append %d while the file is broken = %v, want %s", i, err, audit.CodeUnavailable)
			}
		}
		time.Sleep(audit.HealInterval + time.Millisecond)
		after := audittest.Record(9)
		if err := l.Append(context.Background(), after); err != nil {
			t.Fatalf("Append after the log could write again = %v, want it accepted", err)
		}
		if after.Seq != 4 {
			t.Errorf("first record after the outage has seq %d, want 4 (2 durable records, then the outage's)", after.Seq)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("Close after healing = %v", err)
		}
		if !strings.Contains(logs.String(), "writable again") {
			t.Errorf("logged %q, want the recovery", logs.String())
		}
		rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
		if err != nil || rep.Records != 4 {
			t.Fatalf("Verify = %+v, %v; want 4 records, the chain and its checkpoints intact", rep, err)
		}
		gap, err := audit.ParseLine(bytes.TrimSuffix(audittest.Lines(audittest.ReadFile(t, path))[2], []byte("\n")))
		if err != nil {
			t.Fatal(err)
		}
		if gap.Event != audit.EventRecovered || gap.Repeats != 3 || gap.Reason != audit.CodeUnavailable || !strings.Contains(gap.Error, "3 appends refused") {
			t.Errorf("outage record = %+v, want event %s with 3 refused appends", gap, audit.EventRecovered)
		}
	})
}

func TestOpenReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: directory permissions are not enforced; read-only directory untested (TestAppendUnavailable covers write failures)")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if l, err := audit.Open(filepath.Join(dir, "audit.log"), audit.Options{}); err == nil {
		l.Close()
		t.Error("Open in a read-only directory succeeded, want an error")
	}
}

// TestControlCharactersStayOnOneLine sends a newline and terminal escape
// payload through the arguments and error text.
func TestControlCharactersStayOnOneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{})
	payload := "ok\n{\"seq\":99,\"decision\":\"allow\"}\r\n\x1b[2J\x1b]0;owned\x07\u2028\u0085done"
	rec := audittest.Record(1)
	rec.Arguments, _ = json.Marshal(map[string]any{"text": payload, payload: "as a key"})
	rec.Error = payload
	if err := l.Append(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	l.Close()
	b := audittest.ReadFile(t, path)
	checkLineBytes(t, b, 1)
	if bytes.ContainsAny(b, "\x1b\r\x07") || bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u0085")) {
		t.Errorf("log holds a raw control character: %q", b)
	}
	var got audit.Record
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Error != payload {
		t.Errorf("error read back %q, want %q", got.Error, payload)
	}
}
