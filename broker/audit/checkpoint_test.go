package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func testPub() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

// checkpointCounts returns the count of each line in a checkpoints file.
func checkpointCounts(t *testing.T, logPath string) []uint64 {
	t.Helper()
	b, err := os.ReadFile(audit.CheckpointsPath(logPath))
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, line := range audittest.Lines(b) {
		var c struct{ Count uint64 }
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("checkpoint line %q: %v", line, err)
		}
		out = append(out, c.Count)
	}
	return out
}

// signedLog writes n records to a new log with checkpoints every 5 records
// and at Close, and returns its path.
func signedLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l := audittest.Open(t, path, audit.Options{SigningKey: testKey, CheckpointEvery: 5, CheckpointInterval: time.Hour, Origin: "test-broker"})
	audittest.AppendN(t, l, 1, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckpointEveryNAndAtClose(t *testing.T) {
	path := signedLog(t, 12)
	if got, want := checkpointCounts(t, path), []uint64{5, 10, 12}; !slices.Equal(got, want) {
		t.Errorf("checkpoint counts = %v, want %v", got, want)
	}
	rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
	if err != nil {
		t.Fatalf("VerifyFileAnchored: %v", err)
	}
	want := audit.Report{Records: 12, Head: rep.Head, Origin: "test-broker", Checkpoints: 3, Anchored: 12, Unanchored: 0, CheckpointTime: rep.CheckpointTime, Files: 1}
	if *rep != want {
		t.Errorf("VerifyFileAnchored = %+v, want %+v", *rep, want)
	}

	// Reopen and add two records: no checkpoint yet, so they are unanchored.
	l := audittest.Open(t, path, audit.Options{SigningKey: testKey, CheckpointEvery: 5, CheckpointInterval: time.Hour})
	audittest.AppendN(t, l, 13, 2)
	rep, err = audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
	if err != nil || rep.Records != 14 || rep.Anchored != 12 || rep.Unanchored != 2 || rep.Checkpoints != 3 {
		t.Errorf("VerifyFileAnchored with the log open = %+v, %v; want 14 records, 12 anchored by 3 checkpoints, 2 unanchored", rep, err)
	}
	l.Close()
	if got, want := checkpointCounts(t, path), []uint64{5, 10, 12, 14}; !slices.Equal(got, want) {
		t.Errorf("checkpoint counts after reopen = %v, want %v", got, want)
	}
}

func TestCheckpointInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.log")
		l := audittest.Open(t, path, audit.Options{SigningKey: testKey, CheckpointInterval: 10 * time.Second})
		defer l.Close()

		time.Sleep(time.Minute) // idle: nothing to sign
		synctest.Wait()
		if got := checkpointCounts(t, path); len(got) != 0 {
			t.Fatalf("checkpoints while idle = %v, want none", got)
		}

		audittest.AppendN(t, l, 1, 3)
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		if got := checkpointCounts(t, path); len(got) != 0 {
			t.Fatalf("checkpoints just before the interval = %v, want none", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got, want := checkpointCounts(t, path), []uint64{3}; !slices.Equal(got, want) {
			t.Fatalf("checkpoints after the interval = %v, want %v", got, want)
		}

		audittest.AppendN(t, l, 4, 1)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got, want := checkpointCounts(t, path), []uint64{3, 4}; !slices.Equal(got, want) {
			t.Fatalf("checkpoints after a second interval = %v, want %v", got, want)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := checkpointCounts(t, path), []uint64{3, 4}; !slices.Equal(got, want) {
			t.Errorf("checkpoints after Close with nothing new = %v, want %v", got, want)
		}
	})
}

func TestVerifyAnchoredDetects(t *testing.T) {
	path := signedLog(t, 12)
	good := audittest.ReadFile(t, path)
	goodCP := audittest.ReadFile(t, audit.CheckpointsPath(path))
	ls := audittest.Lines(good)

	// A consistent chain over edited records: the hash chain alone passes.
	forged := filepath.Join(t.TempDir(), "forged.log")
	fl := audittest.Open(t, forged, audit.Options{})
	for i := 1; i <= 12; i++ {
		r := audittest.Record(i)
		if i == 4 {
			r.Decision = audit.DecisionDeny
		}
		if err := fl.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	fl.Close()
	rewritten := audittest.ReadFile(t, forged)
	if _, err := verifyBytes(t, rewritten); err != nil {
		t.Fatalf("the forged chain should pass plain Verify: %v", err)
	}

	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	tests := []struct {
		name string
		log  []byte
		cps  []byte
		pub  ed25519.PublicKey
		line int
		kind string
	}{
		{"last records cut at a line boundary", bytes.Join(ls[:10], nil), goodCP, testPub(), 11, audit.KindTruncated},
		{"whole chain rewritten", rewritten, goodCP, testPub(), 5, audit.KindEdited},
		{"checkpoint count edited", good, bytes.Replace(goodCP, []byte(`"count":5`), []byte(`"count":4`), 1), testPub(), 1, audit.KindCheckpoint},
		{"checkpoint signed by another key", good, goodCP, otherKey.Public().(ed25519.PublicKey), 1, audit.KindCheckpoint},
		{"checkpoint lines swapped", good, bytes.Join([][]byte{audittest.Lines(goodCP)[1], audittest.Lines(goodCP)[0], audittest.Lines(goodCP)[2]}, nil), testPub(), 2, audit.KindCheckpoint},
		{"checkpoint torn", good, goodCP[:len(goodCP)-3], testPub(), 3, audit.KindCheckpoint},
		{"checkpoint garbage", good, []byte("{}\n"), testPub(), 1, audit.KindCheckpoint},
		{"edit under the chain", bytes.Replace(good, []byte(`"tenant":"acme"`), []byte(`"tenant":"evil"`), 1), goodCP, testPub(), 1, audit.KindEdited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := verifyAnchoredBytes(t, tt.log, tt.cps, tt.pub)
			var ve *audit.VerifyError
			if !errors.As(err, &ve) || ve.Line != tt.line || ve.Kind != tt.kind {
				t.Errorf("VerifyAnchored = %+v, %v; want line %d, kind %s", rep, err, tt.line, tt.kind)
			}
		})
	}
}

func TestOpenChecksCheckpoints(t *testing.T) {
	path := signedLog(t, 7)
	good := audittest.ReadFile(t, path)
	opts := audit.Options{SigningKey: testKey, CheckpointEvery: 5}

	// Records cut from the end below the last checkpoint: refused.
	audittest.WriteFile(t, path, bytes.Join(audittest.Lines(good)[:6], nil))
	_, err := audit.Open(path, opts)
	if kindOf(err) != audit.KindTruncated {
		t.Fatalf("Open(truncated signed log) = %v, want kind %s", err, audit.KindTruncated)
	}
	opts.AllowBroken = true
	l := audittest.Open(t, path, opts)
	l.Close()
	opts.AllowBroken = false
	audittest.WriteFile(t, path, good)

	// A torn checkpoint line (crash while signing) is repaired, not refused.
	cp := audit.CheckpointsPath(path)
	cpGood := audittest.ReadFile(t, cp)
	audittest.WriteFile(t, cp, append(bytes.Clone(cpGood), `{"origin":"test-br`...))
	logger, logs := audittest.Logger()
	opts.Logger = logger
	l = audittest.Open(t, path, opts)
	if !strings.Contains(logs.String(), "torn") {
		t.Errorf("Open logged %q, want a torn checkpoint warning", logs.String())
	}
	audittest.AppendN(t, l, 8, 1)
	l.Close()
	rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
	if err != nil || rep.Records != 8 || rep.Anchored != 8 || rep.Origin != "test-broker" {
		t.Errorf("VerifyFileAnchored = %+v, %v; want 8 records, all anchored, origin kept", rep, err)
	}

	// Another origin than the checkpoints': refused.
	opts.Origin = "another-broker"
	if l, err := audit.Open(path, opts); err == nil {
		l.Close()
		t.Error("Open with a different origin succeeded, want an error")
	} else if !strings.Contains(err.Error(), "origin") {
		t.Errorf("Open with a different origin = %v, want it to name the origin", err)
	}
}

func TestVerifyFileAnchoredNeedsCheckpoints(t *testing.T) {
	path := audittest.WriteLog(t, 2)
	if _, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VerifyFileAnchored without a checkpoints file = %v, want ErrNotExist", err)
	}
}
