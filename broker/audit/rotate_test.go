package audit_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

// rotatedLog writes n records to a log that rotates every ~3 records and
// signs a checkpoint every 4 (and at every rotation), and returns its path.
func rotatedLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{SigningKey: testKey, CheckpointEvery: 4, CheckpointInterval: time.Hour, RotateBytes: 2500, Origin: "test-broker"})
	audittest.AppendN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRotation(t *testing.T) {
	path := rotatedLog(t, 20)
	files, err := audit.Segments(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 || files[len(files)-1] != path || files[0] != audit.SegmentPath(path, 1) {
		t.Fatalf("Segments = %v, want several rotated segments from seq 1, then %s", files, path)
	}
	// Each segment is named after its first record, and ends where the next
	// starts.
	next := uint64(1)
	for _, f := range files {
		ls := audittest.Lines(audittest.ReadFile(t, f))
		if len(ls) == 0 {
			continue
		}
		if f != path && f != audit.SegmentPath(path, next) {
			t.Errorf("segment %s, want the name %s", f, audit.SegmentPath(path, next))
		}
		next += uint64(len(ls))
	}
	if next != 21 {
		t.Errorf("files hold %d records, want 20", next-1)
	}

	rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
	if err != nil {
		t.Fatalf("VerifyFileAnchored: %v", err)
	}
	if rep.Records != 20 || rep.Anchored != 20 || rep.Files != len(files) {
		t.Errorf("VerifyFileAnchored = %+v, want 20 records, all anchored, over %d files", rep, len(files))
	}

	// The chain continues across a reopen.
	l := audittest.Open(t, path, audit.Options{SigningKey: testKey, RotateBytes: 2500})
	recs := audittest.AppendN(t, l, 21, 3)
	if recs[0].Seq != 21 {
		t.Errorf("Seq after reopen = %d, want 21", recs[0].Seq)
	}
	l.Close()
	if rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()}); err != nil || rep.Records != 23 {
		t.Errorf("after reopen: VerifyFileAnchored = %+v, %v; want 23 records", rep, err)
	}

	// A directory names its log.
	if got, err := audit.FindLog(filepath.Dir(path)); err != nil || got != path {
		t.Errorf("FindLog(dir) = %q, %v; want %q", got, err, path)
	}
}

// TestOpenAfterCrashInRotation covers a crash between the rename of the
// active file and the creation of the next: only segments are left.
func TestOpenAfterCrashInRotation(t *testing.T) {
	path := rotatedLog(t, 10)
	files, _ := audit.Segments(path)
	last := files[len(files)-1]
	first := len(audittest.Lines(audittest.ReadFile(t, path)))
	if err := os.Rename(path, audit.SegmentPath(path, uint64(10-first+1))); err != nil {
		t.Fatal(err)
	}
	if got, err := audit.FindLog(filepath.Dir(path)); err != nil || got != path {
		t.Errorf("FindLog with no active file = %q, %v; want %q", got, err, path)
	}
	l := audittest.Open(t, path, audit.Options{SigningKey: testKey, RotateBytes: 2500})
	if recs := audittest.AppendN(t, l, 11, 2); recs[0].Seq != 11 {
		t.Errorf("Seq after a crash mid-rotation = %d, want 11 (after %s)", recs[0].Seq, last)
	}
	l.Close()
	if rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()}); err != nil || rep.Records != 12 {
		t.Errorf("VerifyFileAnchored = %+v, %v; want 12 records", rep, err)
	}
}

func TestVerifyAcrossFilesDetects(t *testing.T) {
	path := rotatedLog(t, 20)
	files, _ := audit.Segments(path)
	if len(files) < 4 {
		t.Fatalf("want at least 4 files, got %v", files)
	}
	seg := files[1] // a middle segment
	tests := []struct {
		name   string
		tamper func(t *testing.T)
		file   string
		line   int
		kind   string
	}{
		{"edit a record in a middle segment", func(t *testing.T) {
			audittest.WriteFile(t, seg, bytes.Replace(audittest.ReadFile(t, seg), []byte(`"decision":"allow"`), []byte(`"decision":"deny"`), 1))
		}, seg, 1, audit.KindEdited},
		{"delete a middle segment", func(t *testing.T) {
			if err := os.Remove(seg); err != nil {
				t.Fatal(err)
			}
		}, files[2], 1, audit.KindMissing},
		{"cut a segment mid-line", func(t *testing.T) {
			b := audittest.ReadFile(t, seg)
			audittest.WriteFile(t, seg, b[:len(b)-10])
		}, seg, len(audittest.Lines(audittest.ReadFile(t, seg))), audit.KindEdited},
		{"swap two segments' names", func(t *testing.T) {
			a, b := audittest.ReadFile(t, files[0]), audittest.ReadFile(t, files[1])
			audittest.WriteFile(t, files[0], b)
			audittest.WriteFile(t, files[1], a)
		}, files[0], 1, audit.KindMissing},
		{"delete the active file", func(t *testing.T) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, files[len(files)-2], len(audittest.Lines(audittest.ReadFile(t, files[len(files)-2]))) + 1, audit.KindTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := map[string][]byte{}
			for _, f := range files {
				saved[f] = audittest.ReadFile(t, f)
			}
			defer func() {
				for f, b := range saved {
					audittest.WriteFile(t, f, b)
				}
			}()
			tt.tamper(t)
			rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
			var ve *audit.VerifyError
			if !errors.As(err, &ve) || ve.File != tt.file || ve.Line != tt.line || ve.Kind != tt.kind {
				t.Errorf("VerifyFileAnchored = %+v, %v; want %s line %d, kind %s", rep, err, filepath.Base(tt.file), tt.line, tt.kind)
			}
			if err != nil && !strings.Contains(err.Error(), filepath.Base(tt.file)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestFindLog(t *testing.T) {
	dir := t.TempDir()
	if _, err := audit.FindLog(dir); err == nil || !strings.Contains(err.Error(), "no audit log") {
		t.Errorf("FindLog(empty dir) = %v, want 'no audit log'", err)
	}
	audittest.WriteFile(t, filepath.Join(dir, "a.log.checkpoints"), nil)
	audittest.WriteFile(t, filepath.Join(dir, "b.log.00000000000000000001"), nil)
	if _, err := audit.FindLog(dir); err == nil || !strings.Contains(err.Error(), "a.log, b.log") {
		t.Errorf("FindLog(two logs) = %v, want both named", err)
	}
	audittest.WriteFile(t, filepath.Join(dir, "audit.log"), nil)
	if got, err := audit.FindLog(dir); err != nil || got != filepath.Join(dir, "audit.log") {
		t.Errorf("FindLog(with audit.log) = %q, %v", got, err)
	}
	file := filepath.Join(dir, "b.log")
	if got, err := audit.FindLog(file); err != nil || got != file {
		t.Errorf("FindLog(rotated log without active file) = %q, %v; want %q", got, err, file)
	}
}

func TestOpenRotateBytesNegative(t *testing.T) {
	_, err := audit.Open(filepath.Join(t.TempDir(), "a.log"), audit.Options{RotateBytes: -1})
	if err == nil || !strings.Contains(err.Error(), "Options.RotateBytes") {
		t.Errorf("Open(RotateBytes -1) = %v, want an error naming the field", err)
	}
}

func TestVerifyWithExportedCheckpoints(t *testing.T) {
	path := rotatedLog(t, 14)
	var exported bytes.Buffer
	n, err := audit.ExportCheckpoints(&exported, audit.CheckpointsPath(path), time.Time{}, testPub())
	if err != nil || n == 0 {
		t.Fatalf("ExportCheckpoints = %d, %v", n, err)
	}
	if n2, _ := audit.ExportCheckpoints(&bytes.Buffer{}, audit.CheckpointsPath(path), time.Now().Add(time.Hour), nil); n2 != 0 {
		t.Errorf("ExportCheckpoints(since the future) = %d, want 0", n2)
	}
	kept := filepath.Join(t.TempDir(), "offsite.checkpoints")
	audittest.WriteFile(t, kept, exported.Bytes())

	// An attacker who can write the broker's files cuts the last records
	// and the local checkpoints that signed them: the exported copy still
	// shows the truncation.
	files, _ := audit.Segments(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	cp := audittest.Lines(audittest.ReadFile(t, audit.CheckpointsPath(path)))
	audittest.WriteFile(t, audit.CheckpointsPath(path), bytes.Join(cp[:len(cp)-1], nil))
	if _, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()}); err != nil {
		t.Errorf("VerifyLog against the cut local checkpoints = %v; want the cut unnoticed (why checkpoints are exported)", err)
	}
	_, err = audit.Verify(path, audit.VerifyConfig{PublicKey: testPub(), Checkpoints: kept})
	if kindOf(err) != audit.KindTruncated {
		t.Errorf("VerifyLog against the exported checkpoints = %v, want %s (files %v)", err, audit.KindTruncated, files)
	}
}
