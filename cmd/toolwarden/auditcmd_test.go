package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/query"
)

// run executes the toolwarden command line in process and returns its
// output and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String() + ee.msg, ee.code
	}
	return out.String() + err.Error(), 2
}

// auditEnv is a config whose keys audit-init made, and a rotated, signed,
// redacted log of n records written with them.
func auditEnv(t *testing.T, n int) (cfgPath, logPath string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath = filepath.Join(dir, "toolwarden.yaml")
	cfg := "manifests: ./manifests\naudit:\n  path: ./logs/audit.log\n  rotateSize: 4KiB\n  checkpointEvery: 10\n  origin: test-broker\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, "keys", "audit-init", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "audit-signing.key") {
		t.Fatalf("keys audit-init = %d:\n%s", code, out)
	}
	if out, code := run(t, "keys", "audit-init", "--config", cfgPath); code != 1 || !strings.Contains(out, "refusing to overwrite") {
		t.Errorf("second keys audit-init = %d %q, want a refusal", code, out)
	}
	c, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	opts, red, err := auditOptions(c, slog.New(slog.DiscardHandler))
	if err != nil || opts.SigningKey == nil || red == nil {
		t.Fatalf("auditOptions = %+v, %v; want the keys audit-init wrote", opts, err)
	}
	logPath = c.auditPath()
	l, err := audit.Open(logPath, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		r := &audit.Record{
			Time: time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC), Tenant: "acme", Subject: fmt.Sprintf("user%d", i%3),
			Tool: []string{"echo", "jq"}[i%2], Decision: audit.DecisionAllow, Outcome: audit.OutcomeOK,
			Arguments: red.Arguments(map[string]any{"text": "hi", "token": "Zm9vYmFyYmF6"}, nil),
		}
		if i%4 == 0 {
			r.Decision, r.Reason, r.Outcome = audit.DecisionDeny, "denied.role", ""
		}
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return cfgPath, logPath
}

func TestAuditVerifyCommand(t *testing.T) {
	cfgPath, logPath := auditEnv(t, 40)
	out, code := run(t, "audit", "verify", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "verified 40 records in") || !strings.Contains(out, "verified 40 records up to checkpoint") {
		t.Fatalf("audit verify = %d:\n%s", code, out)
	}
	// By directory, with the public key found beside the config.
	if out, code := run(t, "audit", "verify", filepath.Dir(logPath), "--key", filepath.Join(filepath.Dir(cfgPath), "audit-signing.pub")); code != 0 {
		t.Errorf("audit verify DIR = %d:\n%s", code, out)
	}

	// Records after the last checkpoint are listed as unanchored.
	c, _ := loadConfig(cfgPath)
	opts, _, _ := auditOptions(c, slog.New(slog.DiscardHandler))
	opts.CheckpointEvery = 1000
	opts.CheckpointInterval = time.Hour
	l, err := audit.Open(logPath, opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := l.Append(context.Background(), &audit.Record{Time: time.Now(), Tenant: "acme", Subject: "late", Tool: "echo", Decision: audit.DecisionAllow}); err != nil {
			t.Fatal(err)
		}
	}
	out, code = run(t, "audit", "verify", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "2 records after the last checkpoint are unanchored (seq 41–42)") {
		t.Errorf("audit verify with the log open = %d:\n%s", code, out)
	}
	if strings.Count(out, "  unanchored") != 2 || !strings.Contains(out, "acme/late") {
		t.Errorf("audit verify should list the 2 unanchored records:\n%s", out)
	}
	l.Close()

	// Tampering names the file and line.
	files, _ := audit.Segments(logPath)
	seg := files[1]
	good, _ := os.ReadFile(seg)
	bad := bytes.Replace(good, []byte(`"subject":"user`), []byte(`"subject":"mallory`), 1)
	os.WriteFile(seg, bad, 0o600)
	out, code = run(t, "audit", "verify", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, filepath.Base(seg)+": line 1: edited") {
		t.Errorf("audit verify of an edited segment = %d %q, want exit 1 naming %s line 1", code, out, filepath.Base(seg))
	}
	os.WriteFile(seg, good, 0o600)

	// A key that did not sign the checkpoints is refused.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := audit.CreateSigningKey(other); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, "audit", "verify", "--config", cfgPath, "--key", other)
	if code != 1 || !strings.Contains(out, "checkpoint") || !strings.Contains(out, "not by the given key") {
		t.Errorf("audit verify with another key = %d %q, want exit 1, bad signature", code, out)
	}

	// Exported checkpoints are byte-identical lines.
	out, code = run(t, "audit", "checkpoints", "--config", cfgPath, "--since", "2000-01-01")
	cp, _ := os.ReadFile(audit.CheckpointsPath(logPath))
	if code != 0 || out != string(cp) {
		t.Errorf("audit checkpoints = %d, %d bytes; want the %d bytes of the checkpoints file", code, len(out), len(cp))
	}
}

func TestAuditQueryCommands(t *testing.T) {
	cfgPath, logPath := auditEnv(t, 40)
	out, code := run(t, "audit", "query", "--config", cfgPath, "--decision", "deny", "--output", "json")
	if code != 0 {
		t.Fatalf("audit query = %d:\n%s", code, out)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Decision != audit.DecisionDeny {
			t.Errorf("query line %q: %v", sc.Text(), err)
		}
		n++
	}
	if n != 10 {
		t.Errorf("audit query --decision deny printed %d records, want 10", n)
	}
	if strings.Contains(out, "Zm9vYmFyYmF6") {
		t.Error("a redacted token is in the query output")
	}
	out, code = run(t, "audit", "query", filepath.Dir(logPath), "--subject", "user1", "--since", "2026-03-01T12:00:10Z", "--until", "2026-03-01T12:00:20Z")
	var seqs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		seqs = append(seqs, strings.Fields(line)[0])
	}
	if code != 0 || strings.Join(seqs, ",") != "10,13,16,19" {
		t.Errorf("audit query --subject user1 --since :10 --until :20 = %d, seqs %v; want 10,13,16,19:\n%s", code, seqs, out)
	}
	if out, code := run(t, "audit", "query", "--config", cfgPath, "--decision", "maybe"); code != 2 {
		t.Errorf("audit query --decision maybe = %d %q, want a usage error", code, out)
	}

	out, code = run(t, "audit", "stats", "--config", cfgPath, "--output", "json")
	var s struct {
		Records, Allowed, Denied int
		DenialsByReason          map[string]int `json:"denials_by_reason"`
		TopTools                 []query.Count  `json:"top_tools"`
	}
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("audit stats = %d, %v:\n%s", code, err, out)
	}
	if s.Records != 40 || s.Denied != 10 || s.DenialsByReason["denied.role"] != 10 || len(s.TopTools) != 2 {
		t.Errorf("audit stats = %+v", s)
	}

	out, code = run(t, "audit", "export", "--format", "ocsf", "--config", cfgPath, "--tool", "jq")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 20 {
		t.Fatalf("audit export = %d, %d lines:\n%s", code, len(lines), out)
	}
	var e struct {
		ClassUID int `json:"class_uid"`
		Metadata struct{ UID string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.ClassUID != 6003 || e.Metadata.UID != "test-broker:1" {
		t.Errorf("first OCSF event = %+v, %v; want class 6003, uid test-broker:1", e, err)
	}

	out, code = run(t, "audit", "tail", "--config", cfgPath, "-n", "2", "--output", "json")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `{"seq":40,`) {
		t.Errorf("audit tail -n 2 = %d:\n%s", code, out)
	}
}
