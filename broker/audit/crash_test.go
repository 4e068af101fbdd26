package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/audittest"
	"github.com/toolwarden/toolwarden/broker/audit/query"
)

// helperEnv names the log TestHelperProcess writes to; unset, it is a no-op.
const helperEnv = "TOOLWARDEN_AUDIT_HELPER_LOG"

// crashOptions are the options of the crashing writer: checkpoints and
// small files, so a kill can land in any of them.
func crashOptions(t testing.TB) audit.Options {
	return audit.Options{
		SigningKey:         testKey,
		CheckpointEvery:    40,
		CheckpointInterval: 5 * time.Millisecond,
		RotateBytes:        24 << 10,
	}
}

// TestHelperProcess is not a test. Re-run by TestCrashKeepsAcknowledged
// with helperEnv set, it plays a broker: 8 goroutines append records to
// the log and print "seq request-id" on stdout for each Append that
// returned (a call answered), until the process is killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	l, err := audit.Open(path, crashOptions(t))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				r := audittest.Record(i)
				r.RequestID = fmt.Sprintf("w%d-%d", w, i)
				if err := l.Append(context.Background(), r); err != nil {
					fmt.Fprintln(os.Stderr, "helper: append:", err)
					os.Exit(4)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d %s\n", r.Seq, r.RequestID)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashKeepsAcknowledged kills a writer process with SIGKILL in the
// middle of concurrent appends, twice, and checks that every record whose
// Append had returned is in the log, at its seq, and that the log (torn
// tail recovered by the restart) verifies against its checkpoints.
func TestCrashKeepsAcknowledged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	acked := map[uint64]string{}
	for round := 1; round <= 2; round++ {
		before := len(acked)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		killed := false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			seq, err := strconv.ParseUint(f[0], 10, 64)
			if len(f) != 2 || err != nil {
				t.Fatalf("helper printed %q", sc.Text())
			}
			if prev, dup := acked[seq]; dup {
				t.Fatalf("seq %d acknowledged twice (%s, %s)", seq, prev, f[1])
			}
			acked[seq] = f[1]
			if !killed && len(acked)-before >= 600 {
				if err := cmd.Process.Kill(); err != nil { // SIGKILL, mid-write
					t.Fatal(err)
				}
				killed = true
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("helper exited before the kill: %v\n%s", err, stderr.Bytes())
		}
		t.Logf("round %d: %d calls answered before the kill", round, len(acked)-before)
	}

	logger, logs := audittest.Logger()
	opts := crashOptions(t)
	opts.Logger = logger
	l := audittest.Open(t, path, opts) // what a restarted broker does
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "torn") {
		t.Logf("restart recovered a torn line: %s", logs.String())
	}
	rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: testPub()})
	if err != nil {
		t.Fatalf("log after two kills does not verify: %v (%+v)", err, rep)
	}
	got := map[uint64]string{}
	err = query.Records(context.Background(), path, query.Filter{}, func(r *audit.Record) error {
		got[r.Seq] = r.RequestID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for seq, id := range acked {
		if got[seq] != id {
			t.Errorf("acknowledged seq %d (%s) is %q in the log", seq, id, got[seq])
		}
	}
	if b := audittest.ReadFile(t, path); bytes.Contains(b, []byte("Zm9vYmFy")) {
		t.Error("the bearer token reached the log")
	}
	t.Logf("%d records in %d files, %d anchored; all %d acknowledged present", rep.Records, rep.Files, rep.Anchored, len(acked))
}
