package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// attackCorpus is a small corpus for a broker the harness did not start:
// one case per outcome the test environment can show.
const attackCorpus = `
- name: echo within the role's pattern
  call: {tool: echo, arguments: {text: hello there}}
  expect: {outcome: allowed, inReply: [hello there]}
- name: echo outside the role's pattern
  call: {tool: echo, arguments: {text: goodbye}}
  expect: {reason: denied.arguments}
- name: a tool that does not exist
  call: {tool: shell, arguments: {}}
  expect: {reason: denied.unknown_tool}
- name: no credential
  as: none
  call: {tool: echo, arguments: {text: hello}}
  http: {}
  expect: {reason: auth.missing, status: 401}
- name: a broken frame
  send: ['{"jsonrpc":']
  expect: {reason: frame.parse}
`

// TestRedteamAttach runs `toolwarden redteam --url` against a broker
// serving over HTTP, as a security team would against its own
// deployment: the cases pass, the JSON report says so, the audit log named
// with --audit is verified and holds a record of each refusal; a case the
// broker does not meet fails the run with exit 1.
func TestRedteamAttach(t *testing.T) {
	t.Parallel()
	env := newEnv(t, "")
	key := env.addKey(t, principal{tenant: "acme", subject: "alice", roles: []string{"analyst"}})
	srv := env.serveHTTP(t)
	corpus := filepath.Join(t.TempDir(), "corpus")
	if err := os.Mkdir(corpus, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpus, "attach.yaml"), []byte(attackCorpus), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.json")
	res := runTool("redteam", "--url", srv.url, "--key", "analyst="+key.secret, "--audit", env.audit,
		"--corpus", corpus, "--report", report)
	if res.code != 0 || !strings.Contains(res.stdout, "5 passed, 0 failed, 0 unsafe, 0 skipped") ||
		!strings.Contains(res.stdout, "audit log: verifies, holds no canary; 4 refusals under 4 reason codes") {
		t.Fatalf("toolwarden redteam --url: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	var rep struct {
		Results []struct {
			Name, Transport, Verdict string
		} `json:"results"`
		AuditChecked bool `json:"auditChecked"`
		Audit        []struct {
			Reason            string
			Refused, Recorded int
		} `json:"audit"`
	}
	data, err := os.ReadFile(report)
	if err != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	if len(rep.Results) != 5 || !rep.AuditChecked || len(rep.Audit) != 4 {
		t.Errorf("report: %d results, audit checked %v, %d reasons; want 5 over HTTP only, checked, 4", len(rep.Results), rep.AuditChecked, len(rep.Audit))
	}
	for _, r := range rep.Results {
		if r.Transport != "http" || r.Verdict != "passed" {
			t.Errorf("%s [%s]: %s, want passed over http", r.Name, r.Transport, r.Verdict)
		}
	}
	for _, a := range rep.Audit {
		if a.Recorded < a.Refused {
			t.Errorf("%s: %d refused, %d recorded", a.Reason, a.Refused, a.Recorded)
		}
	}

	// A case the broker does not meet: the run fails, naming it.
	wrong := strings.Replace(attackCorpus, "expect: {reason: denied.arguments}", "expect: {outcome: allowed}", 1)
	if err := os.WriteFile(filepath.Join(corpus, "attach.yaml"), []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	res = runTool("redteam", "--url", srv.url, "--key", "analyst="+key.secret, "--corpus", corpus)
	if res.code != 1 || !strings.Contains(res.stdout, "failed  attach/echo outside the role's pattern [http]") ||
		!strings.Contains(res.stdout, "4 passed, 1 failed") || !strings.Contains(res.stdout, "audit log: NOT CHECKED") {
		t.Errorf("a case the broker does not meet: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
