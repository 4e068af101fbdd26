package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/query"
	"github.com/toolwarden/toolwarden/cmd/toolwarden/internal/redteam"
	"github.com/toolwarden/toolwarden/sandbox/plugin"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// The soak's size. `make test` runs a short soak, `make soak` the full one
// (10,000 calls from 16 clients).
var (
	soakCalls   = flag.Int("soak.calls", 600, "calls the soak makes")
	soakClients = flag.Int("soak.clients", 8, "concurrent clients of the soak")
)

// soakFault is a call to a faulty tool: one in twenty calls is one.
type soakFault struct {
	name, tool, args string
}

// soakFaults are the faults the soak cycles through.
var soakFaults = []soakFault{
	{"wasm hang", "loop", `{}`},
	{"wasm memory bomb", "membomb", `{}`},
	{"wasm output flood", "flood", `{}`},
	{"wasm trap", "trap", `{}`},
	{"plugin crash", "hostile", `{"attack":"crash","text":"%s"}`},
	{"plugin fork bomb", "hostile", `{"attack":"forkbomb","text":"%s"}`},
	{"plugin hang", "hostile", `{"attack":"sleep","pid":60000,"text":"%s"}`},
	{"plugin memory bomb", "hostile", `{"attack":"alloc","text":"%s"}`},
}

// soakTally is what the soak's clients saw.
type soakTally struct {
	mu         sync.Mutex
	answered   map[string]bool // marker → answered (echo and plugin calls carry one)
	byTool     map[string]int  // answered calls without a marker, by tool
	faults     int             // answered calls of faulty tools
	unanswered int             // calls cut off (the kill)
	wrong      []string        // answers that were not what the call should get
}

// TestSoak serves the red-team example (quickstart tools and hostile
// fixtures) and calls it from concurrent clients over HTTP, one call in
// twenty to a faulty tool (hangs, memory bombs, output floods, traps, a
// crashing plugin, a fork bomb), kills the broker with SIGKILL halfway and
// restarts it on the same audit log. It passes when the broker served
// every call but those cut off by the kill, every answered call has its
// audit record, `audit verify` passes, the broker's memory and descriptors
// after the load are back near what they were before it, and no process,
// socket or temporary file is left behind. It logs its figures.
func TestSoak(t *testing.T) {
	sandboxtest.RequireIsolation(t, plugin.Available(false), "the soak (its plugin faults)")
	root := prepareExamples(t, "quickstart", "redteam")
	// The harness and the brokers put their temporary files in a directory
	// of their own, which must be empty when they are done.
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	ctx := context.Background()
	target, err := redteam.Spawn(ctx, e2e.bin, filepath.Join(root, "redteam", "toolwarden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			target.Close()
		}
	}()
	if !target.Isolated {
		t.Fatal("the broker withdrew its plugin tools: this host cannot isolate plugins")
	}
	key, _ := target.Key("hostile")
	s := &soak{t: t, url: target.URL(), key: key, client: &http.Client{Timeout: 2 * time.Minute},
		tally: soakTally{answered: map[string]bool{}, byTool: map[string]int{}}}

	calls, clients := *soakCalls, *soakClients
	start := time.Now()
	var next atomic.Int64
	run := func(limit int64) {
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					i := next.Load()
					if i >= limit {
						return
					}
					if next.CompareAndSwap(i, i+1) {
						s.call(ctx, int(i+1))
					}
				}
			})
		}
		wg.Wait()
	}

	// The first half, with kill -9 a quarter of the way in and a restart
	// on the same audit log: calls in flight at the kill are cut off;
	// calls made while the broker restarts wait for it (the URL is held).
	half, killAt := int64(calls/2), int64(calls/4)
	var killWG sync.WaitGroup
	killWG.Go(func() {
		for next.Load() < killAt {
			time.Sleep(2 * time.Millisecond)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := target.Kill(); err != nil {
			t.Errorf("kill -9 the broker: %v", err)
			return
		}
		if err := target.Restart(ctx); err != nil {
			t.Errorf("restart after kill -9: %v", err)
			return
		}
		s.url = target.URL()
	})
	run(half)
	killWG.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The baseline is the restarted process after the calls it has served,
	// the end the same process after as many again and a pause.
	pid := target.PID()
	baseRSS, baseFDs := procRSS(t, pid), procFDs(t, pid)
	run(int64(calls))
	time.Sleep(2 * time.Second) // let pooled plugin processes and the GC settle
	endRSS, endFDs := procRSS(t, pid), procFDs(t, pid)
	elapsed := time.Since(start)

	config := target.Config()
	target.Stop()
	res := runTool("audit", "verify", "--config", config)
	if res.code != 0 {
		t.Errorf("audit verify after the soak: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	records := map[string]int{}
	seen := map[string]bool{}
	for _, log := range target.Audits() {
		err := query.Records(ctx, log, query.Filter{}, func(rec *audit.Record) error {
			if rec.Event != "" {
				return nil
			}
			records[rec.Tool]++
			var a struct {
				Text string `json:"text"`
			}
			if json.Unmarshal(rec.Arguments, &a) == nil && strings.HasPrefix(a.Text, "soak-") {
				seen[a.Text] = true
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", log, err)
		}
	}
	lost := 0
	for marker := range s.tally.answered {
		if !seen[marker] {
			lost++
			if lost <= 5 {
				t.Errorf("answered call %s has no audit record", marker)
			}
		}
	}
	for tool, n := range s.tally.byTool {
		if records[tool] < n {
			lost += n - records[tool]
			t.Errorf("%s: %d calls answered, %d recorded", tool, n, records[tool])
		}
	}
	for _, w := range s.tally.wrong[:min(len(s.tally.wrong), 10)] {
		t.Error(w)
	}
	if s.tally.unanswered > clients*2 {
		t.Errorf("%d calls unanswered; only those in flight at the kill (at most %d) may be", s.tally.unanswered, clients*2)
	}
	target.Close()
	closed = true

	// Nothing left behind: processes started from this test's binaries or
	// files, temporary directories.
	var leaked []string
	for range 50 {
		if leaked = ourProcesses(t, e2e.bin, root); len(leaked) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(leaked) > 0 {
		t.Errorf("processes left behind: %v", leaked)
	}
	leftTemps, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range leftTemps {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
	// Memory and descriptors back near the baseline: a leak per call would
	// show as thousands of descriptors or hundreds of MiB.
	if endFDs > baseFDs+clients+8 {
		t.Errorf("open descriptors: %d before the load, %d after: sockets or files leak", baseFDs, endFDs)
	}
	if endRSS > baseRSS*2+64<<20 {
		t.Errorf("RSS: %d MiB before the load, %d MiB after", baseRSS>>20, endRSS>>20)
	}
	answered := len(s.tally.answered)
	for _, n := range s.tally.byTool {
		answered += n
	}
	t.Logf("soak: %d calls from %d clients in %s (%d to faulty tools answered), kill -9 at call ~%d and restart; "+
		"%d answered, %d cut off by the kill, %d answered without a record; audit verify exit %d (%s); "+
		"broker RSS %d MiB → %d MiB, descriptors %d → %d; leaked processes %d, temp files left %d",
		calls, clients, elapsed.Round(time.Second), s.tally.faults, killAt, answered, s.tally.unanswered, lost,
		res.code, strings.TrimSpace(res.stdout), baseRSS>>20, endRSS>>20, baseFDs, endFDs, len(leaked), len(leftTemps))
}

type soak struct {
	t      *testing.T
	mu     sync.RWMutex
	url    string
	key    string
	client *http.Client
	tally  soakTally
}

// call makes call number i: a faulty tool one time in twenty, echo
// otherwise. Warm-up calls (i < 0) are not counted.
func (s *soak) call(ctx context.Context, i int) {
	tool, args, marker := "echo", "", ""
	fault := i > 0 && i%20 == 0
	switch {
	case fault:
		f := soakFaults[(i/20)%len(soakFaults)]
		tool, args = f.tool, f.args
		if strings.Contains(args, "%s") {
			marker = fmt.Sprintf("soak-%d", i)
			args = fmt.Sprintf(args, marker)
		}
	default:
		marker = fmt.Sprintf("soak-%d", i)
		args = fmt.Sprintf(`{"text":%q}`, marker)
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"soak","version":"1"}}}}`, i, tool, args)
	s.mu.RLock()
	url := s.url
	s.mu.RUnlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		s.t.Error(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", tool)
	resp, err := s.client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if i < 0 {
		return
	}
	s.tally.mu.Lock()
	defer s.tally.mu.Unlock()
	if err != nil {
		s.tally.unanswered++
		return
	}
	var reply struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(lastData(data), &reply) != nil || reply.Result == nil {
		s.tally.wrong = append(s.tally.wrong, fmt.Sprintf("call %d (%s): HTTP %d %.200s", i, tool, resp.StatusCode, data))
		return
	}
	switch {
	case fault:
		s.tally.faults++
		if !reply.Result.IsError {
			s.tally.wrong = append(s.tally.wrong, fmt.Sprintf("call %d (%s %s) succeeded: %.200s", i, tool, args, data))
		}
	case reply.Result.IsError || !bytes.Contains(data, []byte(marker)):
		s.tally.wrong = append(s.tally.wrong, fmt.Sprintf("call %d (echo) = %.200s", i, data))
	}
	if marker != "" {
		s.tally.answered[marker] = true
	} else {
		s.tally.byTool[tool]++
	}
}

// lastData returns the JSON of a reply: the body, or the data of the last
// event of an SSE body.
func lastData(b []byte) []byte {
	if !bytes.HasPrefix(b, []byte("event:")) && !bytes.HasPrefix(b, []byte("data:")) {
		return b
	}
	var last []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			last = bytes.TrimSpace(d)
		}
	}
	return last
}

// procRSS returns a process's resident set size in bytes.
func procRSS(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// procFDs returns how many descriptors a process holds open.
func procFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// ourProcesses lists the processes whose command line names the test's
// binary or a file under root.
func ourProcesses(t *testing.T, bin, root string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(bin)) || bytes.Contains(cmdline, []byte(root)) {
			out = append(out, fmt.Sprintf("%d %q", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte(" "))))
		}
	}
	return out
}
