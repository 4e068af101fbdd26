package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/query"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// fakeWasm presents the fake runner as the wasm runtime the manifests name.
type fakeWasm struct{ *sandboxtest.Runner }

func (fakeWasm) Kind() string { return "wasm" }

const replayTool = `apiVersion: toolwarden.dev/v1
kind: Tool
name: notes
version: 1.0.0
description: Keeps notes.
runtime:
  wasm: {module: notes.wasm, sha256: "%SHA%"}
inputSchema:
  type: object
  properties:
    text: {type: string, maxLength: 100}
    secret: {type: string, sensitive: true}
  required: [text]
  additionalProperties: false
`

// writeManifests writes the notes tool and the given roles to a new
// directory.
func writeManifests(t *testing.T, roles map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	art := []byte("artifact of notes")
	sum := sha256.Sum256(art)
	files := map[string]string{"notes.wasm": string(art), "notes.yaml": strings.ReplaceAll(replayTool, "%SHA%", hex.EncodeToString(sum[:]))}
	maps.Copy(files, roles)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadSet(t *testing.T, dir string) *manifests.Set {
	t.Helper()
	set, err := manifests.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

const roleHeader = "apiVersion: toolwarden.dev/v1\nkind: Role\n"

// TestReplayFindsFlippedCalls records calls through a real broker under
// one manifest set, then replays them under a set whose analyst role is
// changed and whose ops role is gone, and checks that exactly the calls
// those changes flip are listed.
func TestReplayFindsFlippedCalls(t *testing.T) {
	oldDir := writeManifests(t, map[string]string{
		"analyst.yaml": roleHeader + "name: analyst\ntools:\n  - name: notes\n    arguments:\n      text: {pattern: \"^hello\"}\n",
		"ops.yaml":     roleHeader + "name: ops\ntools:\n  - name: notes\n",
		"nobody.yaml":  roleHeader + "name: nobody\ntools:\n  - name: notes\n    arguments:\n      text: {maxLength: 0}\n",
	})
	newDir := writeManifests(t, map[string]string{
		"analyst.yaml": roleHeader + "name: analyst\ntools:\n  - name: notes\n    arguments:\n      text: {pattern: \"^(hello|hi)\", maxLength: 10}\n",
		"nobody.yaml":  roleHeader + "name: nobody\ntools:\n  - name: notes\n    arguments:\n      text: {maxLength: 0}\n",
	})

	logPath := filepath.Join(t.TempDir(), "audit.log")
	log, err := audit.Open(logPath, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runner := sandboxtest.NewRunner(func(_ context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		return &sandbox.Result{Output: []byte(`"ok"`)}, nil
	})
	b, err := broker.New(context.Background(), broker.Config{Policy: mustPolicy(t, loadSet(t, oldDir)), Runners: []sandbox.Runner{fakeWasm{runner}}, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		roles []string
		args  string
	}{
		{[]string{"analyst"}, `{"text":"hello"}`},                          // 1 allow → allow
		{[]string{"analyst"}, `{"text":"hi there"}`},                       // 2 deny → allow: the new pattern admits "hi"
		{[]string{"analyst"}, `{"text":"hello world, long"}`},              // 3 allow → deny: the new maxLength
		{[]string{"ops"}, `{"text":"anything"}`},                           // 4 allow → deny: ops is gone
		{[]string{"ops"}, `{"text":"x","secret":"s3cr3t"}`},                // 5 allow → deny: ops is gone, whatever the secret
		{[]string{"analyst"}, `{"text":"hello","secret":"zzz"}`},           // 6 undecidable: allowed, but the secret is redacted
		{[]string{"nobody"}, `{"text":"hello"}`},                           // 7 deny → deny
		{[]string{"analyst"}, `{"text":5}`},                                // 8 invalid → invalid
		{[]string{"analyst", "ops"}, `{"text":"hello"}`},                   // 9 allow (analyst) → allow (analyst)
		{[]string{"analyst"}, `{"text":"hello","Text":"x"}`},               // 10 never decoded: skipped
		{[]string{"nobody", "analyst"}, `{"text":"hi","text2":"ignored"}`}, // 11 invalid → invalid (additionalProperties)
	}
	for _, c := range calls {
		b.CallTool(context.Background(), broker.Call{Principal: auth.Principal{Tenant: "acme", Subject: "alice", Roles: c.roles}, Tool: "notes", Args: json.RawMessage(c.args)})
	}
	// 12: refused by authentication, before the policy: skipped.
	if err := b.Refuse(context.Background(), broker.Refusal{Tool: "notes", Code: "auth.invalid", Cause: errors.New("bad key")}); err != nil {
		t.Fatal(err)
	}
	b.Close(context.Background())
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}

	got := map[string][]uint64{}
	sum, err := replayLog(context.Background(), mustPolicy(t, loadSet(t, newDir)), logPath, query.Filter{}, func(c replayedCall) error {
		got[c.Status] = append(got[c.Status], c.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]uint64{
		statusChanged:     {2, 3, 4, 5},
		statusUndecidable: {6},
		statusUnchanged:   {1, 7, 8, 9, 11},
		statusSkipped:     {10, 12},
	}
	for status, seqs := range want {
		if !slices.Equal(got[status], seqs) {
			t.Errorf("%s calls = %v, want %v", status, got[status], seqs)
		}
	}
	if wantSum := (replaySummary{Replayed: 10, ToDeny: 3, ToAllow: 1, Unchanged: 5, Undecidable: 1, Skipped: 2}); sum != wantSum {
		t.Errorf("summary = %+v, want %+v", sum, wantSum)
	}

	// The recording set replays to the live broker's decisions exactly:
	// the same decision function, with the same limits.
	sum, err = replayLog(context.Background(), mustPolicy(t, loadSet(t, oldDir)), logPath, query.Filter{}, func(c replayedCall) error {
		if c.Status == statusUnchanged && c.Was != c.Now {
			t.Errorf("seq %d: live broker decided %q, replay %q", c.Seq, c.Was, c.Now)
		}
		return nil
	})
	if err != nil || sum.ToDeny+sum.ToAllow != 0 || sum.Unchanged != 8 {
		t.Errorf("replay under the recording set = %+v, %v; want 8 unchanged, none changed", sum, err)
	}

	// Through the command line.
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"policy", "replay", "--audit", filepath.Dir(logPath), "--manifests", newDir, "--fail-on-change"})
	err = root.Execute()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("policy replay --fail-on-change = %v, want exit 1", err)
	}
	for _, want := range []string{"allow (analyst)", "deny (denied.role)", "deny (denied.arguments)", "undecidable (redacted argument)",
		"4 would change (3 allow→deny, 1 deny→allow)", "2 skipped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("policy replay output lacks %q:\n%s", want, out.String())
		}
	}
}

// mustPolicy computes the policy of set with the default limits.
func mustPolicy(t testing.TB, set *manifests.Set) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.Config{Set: set})
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	return p
}
