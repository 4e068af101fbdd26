package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

// Tests share one Runner and keep every Go module they prepare open until
// TestMain ends, so each module is compiled once per test process.
var shared struct {
	once sync.Once
	r    *Runner
	err  error
}

// goPackages lists every Go package the tests run as wasm, by the name
// goProgram knows it by.
var goPackages = map[string]string{
	"echo":      "./tools/echo",
	"jq":        "./tools/jq",
	"httpfetch": "./tools/httpfetch",
	"fsread":    "./tools/fsread",
}

func init() {
	for _, f := range []string{"loop", "membomb", "flood", "trap", "garbage", "counter", "fsprobe", "envprobe", "hostprobe"} {
		goPackages[f] = "./sandbox/wasm/testdata/fixtures/" + f
	}
}

// prefillEnv names the compilation cache directory a child test process
// fills; see TestMain.
const prefillEnv = "TOOLWARDEN_WASM_PREFILL_CACHE"

// testCacheDir is the shared runner's compilation cache ("" in memory).
var testCacheDir string

// TestMain works around the race detector's cost on wazero's compiler
// (a Go module takes about 20 s to compile instrumented, 1.5 s not): under
// -race it first runs this package's tests without -race in a child process
// whose only job is to compile every Go module into a fresh on-disk cache,
// which the shared runner then loads. Everything the tests check still
// runs under the race detector; only compilation happens outside it. If the
// child fails, the tests compile under -race, slowly.
func TestMain(m *testing.M) {
	if dir := os.Getenv(prefillEnv); dir != "" {
		os.Exit(prefill(dir))
	}
	if raceEnabled {
		dir, err := os.MkdirTemp("", "toolwarden-wasm-cache-")
		if err == nil {
			defer os.RemoveAll(dir)
			cmd := exec.Command("go", "test", "-count=1", "-run", "^$", ".")
			cmd.Env = append(os.Environ(), prefillEnv+"="+dir, "GOFLAGS="+withoutRace(os.Getenv("GOFLAGS")))
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "prefill compilation cache: %v\n%s\ncompiling under the race detector instead\n", err, out)
			} else {
				testCacheDir = dir
			}
		}
	}
	code := m.Run()
	if shared.r != nil {
		if err := shared.r.Close(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "close shared runner: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// prefill compiles every Go module into the compilation cache at dir.
func prefill(dir string) int {
	r, err := New(Config{CacheDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.Close(context.Background())
	for name, pkg := range goPackages {
		path, err := sandboxtest.BuildWasmFile(pkg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sum := sha256.Sum256(data)
		if _, err := r.Prepare(context.Background(), sandbox.Spec{Tool: name, Path: path, SHA256: hex.EncodeToString(sum[:])}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func withoutRace(goflags string) string {
	var keep []string
	for _, f := range strings.Fields(goflags) {
		if f != "-race" && f != "--race" && f != "-race=true" {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}

func sharedRunner(t testing.TB) *Runner {
	t.Helper()
	shared.once.Do(func() { shared.r, shared.err = New(Config{CacheDir: testCacheDir, Egress: testEgress}) })
	if shared.err != nil {
		t.Fatalf("New: %v", shared.err)
	}
	return shared.r
}

type preparedOnce struct {
	once sync.Once
	p    *Program
	err  error
}

var goPrograms sync.Map // name → *preparedOnce

// goProgram builds and prepares a Go tool or fixture on the shared runner.
func goProgram(t testing.TB, name string) *Program {
	t.Helper()
	pkg, ok := goPackages[name]
	if !ok {
		t.Fatalf("goProgram(%q): not in goPackages", name)
	}
	path := sandboxtest.BuildWasm(t, pkg)
	v, _ := goPrograms.LoadOrStore(name, &preparedOnce{})
	po := v.(*preparedOnce)
	po.once.Do(func() {
		var p sandbox.Program
		p, po.err = sharedRunner(t).Prepare(context.Background(), pin(t, name, path))
		if po.err == nil {
			po.p = p.(*Program)
		}
	})
	if po.err != nil {
		t.Fatalf("Prepare(%s): %v", name, po.err)
	}
	return po.p
}

// pin returns a spec pinning path by its digest.
func pin(t testing.TB, tool, path string) sandbox.Spec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return sandbox.Spec{Tool: tool, Path: path, SHA256: hex.EncodeToString(sum[:])}
}

// writeModule writes a hand-assembled module into a temp dir.
func writeModule(t testing.TB, m testModule) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "module.wasm")
	if err := os.WriteFile(path, m.bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// moduleProgram prepares a hand-assembled module on r, closed at cleanup.
func moduleProgram(t testing.TB, r *Runner, m testModule) *Program {
	t.Helper()
	p, err := r.Prepare(context.Background(), pin(t, "hand", writeModule(t, m)))
	if err != nil {
		t.Fatalf("Prepare(hand-assembled module): %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p.(*Program)
}

func limits() sandbox.Limits {
	return sandbox.Limits{Timeout: 2 * time.Minute, MemoryBytes: 256 << 20, OutputBytes: 1 << 20, MaxStderrBytes: 64 << 10}
}

func call(p sandbox.Program, args string, lim sandbox.Limits) (*sandbox.Result, error) {
	return p.Run(context.Background(), sandbox.Invocation{Args: []byte(args), Limits: lim})
}

// codeOf is the reason code a consumer reads: the first in the chain.
func codeOf(err error) string {
	type coded interface {
		error
		ReasonCode() string
	}
	if c, ok := errors.AsType[coded](err); ok {
		return c.ReasonCode()
	}
	if err != nil {
		return "(uncoded)"
	}
	return ""
}

func publicOf(err error) string {
	if e, ok := errors.AsType[*sandbox.Error](err); ok {
		return e.Public
	}
	return ""
}

func TestConformance(t *testing.T) {
	r := sharedRunner(t)
	// Hold the shared programs so the conformance Prepare calls reuse their
	// compiled code.
	fx := sandboxtest.Fixtures{}
	for name, dst := range map[string]*string{"echo": &fx.Echo, "loop": &fx.Loop, "membomb": &fx.Membomb, "flood": &fx.Flood} {
		goProgram(t, name)
		*dst = sandboxtest.BuildWasm(t, goPackages[name])
	}
	sandboxtest.Conformance(t, r, fx)
}

func TestEchoReturnsTextAsGiven(t *testing.T) {
	p := goProgram(t, "echo")
	for _, tc := range []struct {
		name, args, want string
	}{
		{"plain", `{"text":"hello"}`, `{"text":"hello"}`},
		{"unicode and html", `{"text": "h\u00e9llo <b>&</b> 世界"}`, `{"text":"héllo <b>&</b> 世界"}`},
		{"empty", `{"text":""}`, `{"text":""}`},
		{"whitespace around", " \n{\"text\":\"x\"}\n ", `{"text":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := call(p, tc.args, limits())
			if err != nil {
				t.Fatalf("Run(echo, %s) error = %v", tc.args, err)
			}
			if string(res.Output) != tc.want {
				t.Errorf("Run(echo, %s) Output = %s, want %s", tc.args, res.Output, tc.want)
			}
			if res.PeakMemoryBytes <= 0 || res.PeakMemoryBytes > limits().MemoryBytes {
				t.Errorf("Run(echo) PeakMemoryBytes = %d, want in (0, %d]", res.PeakMemoryBytes, limits().MemoryBytes)
			}
			if res.Duration <= 0 {
				t.Errorf("Run(echo) Duration = %v, want > 0", res.Duration)
			}
		})
	}
}

func TestEchoToolErrors(t *testing.T) {
	p := goProgram(t, "echo")
	for _, tc := range []struct {
		name, args, wantPublic string
	}{
		{"missing text", `{}`, `missing required argument "text"`},
		{"unknown field", `{"text":"a","extra":1}`, `decode arguments: unknown member "extra" at /extra (offset 12)`},
		{"case variant", `{"TEXT":"a"}`, `decode arguments: member "TEXT" differs from "text" only in case; names are case-sensitive at /TEXT (offset 1)`},
		{"duplicate", `{"text":"a","text":"b"}`, `decode arguments: duplicate key "text" (offset 12)`},
		{"not an object", `["text"]`, `arguments are not a JSON object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(p, tc.args, limits())
			if got := codeOf(err); got != sandbox.CodeToolError {
				t.Fatalf("Run(echo, %s) code = %q (%v), want %q", tc.args, got, err, sandbox.CodeToolError)
			}
			if got := publicOf(err); got != tc.wantPublic {
				t.Errorf("Run(echo, %s) Public = %q, want %q", tc.args, got, tc.wantPublic)
			}
		})
	}
}

// TestHostileFixtures runs each Go fixture's failure mode, then checks that
// the next call on the same Program succeeds.
func TestHostileFixtures(t *testing.T) {
	for _, tc := range []struct {
		fixture    string
		limit      func(*sandbox.Limits)
		want       string
		wantPublic string
	}{
		{"loop", func(l *sandbox.Limits) { l.Timeout = 300 * time.Millisecond }, sandbox.CodeTimeout, "the tool ran past its time limit"},
		{"membomb", func(l *sandbox.Limits) { l.MemoryBytes = 48 << 20 }, sandbox.CodeMemory, "the tool needed more than its memory limit of 50331648 bytes"},
		{"flood", func(l *sandbox.Limits) { l.OutputBytes = 100 << 10 }, sandbox.CodeOutputTooLarge, "the tool wrote more than 102400 bytes of output"},
		{"trap", func(*sandbox.Limits) {}, sandbox.CodeTrap, "the tool trapped: out of bounds memory access"},
		{"garbage", func(*sandbox.Limits) {}, sandbox.CodeBadOutput, `the tool's output is not one {"result"} or {"error"} object`},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			p := goProgram(t, tc.fixture)
			lim := limits()
			tc.limit(&lim)
			res, err := call(p, `{}`, lim)
			if got := codeOf(err); got != tc.want {
				t.Fatalf("Run(%s) code = %q (%v), want %q", tc.fixture, got, err, tc.want)
			}
			if got := publicOf(err); got != tc.wantPublic {
				t.Errorf("Run(%s) Public = %q, want %q", tc.fixture, got, tc.wantPublic)
			}
			if res == nil {
				t.Fatalf("Run(%s) Result = nil, want stderr and duration with the error", tc.fixture)
			}
			if res.Output != nil {
				t.Errorf("Run(%s) Output = %q, want nil", tc.fixture, res.Output)
			}
			if res.PeakMemoryBytes > lim.MemoryBytes {
				t.Errorf("Run(%s) PeakMemoryBytes = %d, above the limit %d", tc.fixture, res.PeakMemoryBytes, lim.MemoryBytes)
			}
			next, err := call(p, `{"behave":true}`, limits())
			if err != nil {
				t.Fatalf("next Run(%s, behave) error = %v, want nil", tc.fixture, err)
			}
			if string(next.Output) != `"ok"` {
				t.Errorf("next Run(%s, behave) Output = %s, want \"ok\"", tc.fixture, next.Output)
			}
		})
	}
}

func TestOutputLimitIsReported(t *testing.T) {
	lim := limits()
	lim.OutputBytes = 1000
	_, err := call(goProgram(t, "flood"), `{}`, lim)
	ole, ok := errors.AsType[*sandbox.OutputLimitError](err)
	if !ok || ole.Limit != 1000 {
		t.Errorf("Run(flood) error = %v, want it to wrap *sandbox.OutputLimitError{Limit: 1000}", err)
	}
	if got, want := publicOf(err), "the tool wrote more than 1000 bytes of output"; got != want {
		t.Errorf("Run(flood) Public = %q, want %q", got, want)
	}
}

func TestMemoryFailureIsDetectedByTheHost(t *testing.T) {
	// The Go runtime reports "out of memory" on stderr and exits 2; the
	// code must come from the refused growth, not from that text.
	lim := limits()
	lim.MemoryBytes = 40 << 20
	lim.MaxStderrBytes = 1 // keep no useful stderr
	res, err := call(goProgram(t, "membomb"), `{}`, lim)
	if got := codeOf(err); got != sandbox.CodeMemory {
		t.Fatalf("Run(membomb) code = %q (%v), want %q", got, err, sandbox.CodeMemory)
	}
	if !res.StderrTruncated {
		t.Errorf("Run(membomb) StderrTruncated = false with a 1-byte stderr limit, want true")
	}
	if res.PeakMemoryBytes > lim.MemoryBytes || res.PeakMemoryBytes < lim.MemoryBytes/2 {
		t.Errorf("Run(membomb) PeakMemoryBytes = %d, want near the limit %d", res.PeakMemoryBytes, lim.MemoryBytes)
	}
}

func TestHandAssembledModules(t *testing.T) {
	r := sharedRunner(t)
	for _, tc := range []struct {
		name       string
		m          testModule
		limit      func(*sandbox.Limits)
		wantCode   string
		wantPublic string
		wantOutput string
	}{
		{name: "nop", m: nopModule, wantOutput: `"nop"`},
		{name: "unreachable", m: unreachableModule, wantCode: sandbox.CodeTrap, wantPublic: "the tool trapped: unreachable"},
		{name: "spin", m: spinModule, limit: func(l *sandbox.Limits) { l.Timeout = 100 * time.Millisecond }, wantCode: sandbox.CodeTimeout},
		{name: "exit 3", m: exitModule, wantCode: sandbox.CodeExit, wantPublic: "the tool exited with status 3"},
		{name: "grow until refused", m: growModule, limit: func(l *sandbox.Limits) { l.MemoryBytes = 4 << 20 }, wantCode: sandbox.CodeMemory},
		// A maximum the module declares is its own business: it fails as its
		// code fails (here, a trap), not as a sandbox memory limit.
		{name: "grow past the module's own max", m: cappedGrowModule, wantCode: sandbox.CodeTrap},
		{name: "initial memory above the limit", m: bigModule, limit: func(l *sandbox.Limits) { l.MemoryBytes = 64 << 20 }, wantCode: sandbox.CodeMemory},
		{name: "limit rounds down to pages", m: nopModule, limit: func(l *sandbox.Limits) { l.MemoryBytes = pageBytes - 1 }, wantCode: sandbox.CodeMemory},
		{name: "empty output", m: testModule{}, wantCode: sandbox.CodeBadOutput},
		{name: "not json", m: replyModule("hello"), wantCode: sandbox.CodeBadOutput},
		{name: "two objects", m: replyModule(`{"result":1}{"result":2}`), wantCode: sandbox.CodeBadOutput},
		{name: "both members", m: replyModule(`{"result":1,"error":"x"}`), wantCode: sandbox.CodeBadOutput},
		{name: "duplicate result", m: replyModule(`{"result":1,"result":2}`), wantCode: sandbox.CodeBadOutput},
		{name: "case variant", m: replyModule(`{"Result":1}`), wantCode: sandbox.CodeBadOutput},
		{name: "duplicate key inside result", m: replyModule(`{"result":{"a":1,"a":2}}`), wantCode: sandbox.CodeBadOutput},
		{name: "error not a string", m: replyModule(`{"error":{"msg":"x"}}`), wantCode: sandbox.CodeBadOutput},
		{name: "invalid utf-8", m: replyModule("{\"result\":\"\xff\"}"), wantCode: sandbox.CodeBadOutput},
		{name: "tool error", m: replyModule(`{"error":"no such city"}`), wantCode: sandbox.CodeToolError, wantPublic: "no such city"},
		{name: "tool error sanitized", m: replyModule(`{"error":"bad\u001b[31m\nthing\u202e here"}`), wantCode: sandbox.CodeToolError, wantPublic: "bad[31m thing here"},
		{name: "result kept byte for byte", m: replyModule(` {"result" :  {"b": 1.50, "a": "\u00e9"} } `), wantOutput: `{"b": 1.50, "a": "\u00e9"}`},
		{name: "result null", m: replyModule(`{"result":null}`), wantOutput: `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := moduleProgram(t, r, tc.m)
			lim := limits()
			if tc.limit != nil {
				tc.limit(&lim)
			}
			res, err := call(p, `{"x":1}`, lim)
			if got := codeOf(err); got != tc.wantCode {
				t.Fatalf("Run code = %q (%v), want %q", got, err, tc.wantCode)
			}
			if tc.wantPublic != "" && publicOf(err) != tc.wantPublic {
				t.Errorf("Run Public = %q, want %q", publicOf(err), tc.wantPublic)
			}
			if tc.wantCode == "" && string(res.Output) != tc.wantOutput {
				t.Errorf("Run Output = %s, want %s", res.Output, tc.wantOutput)
			}
			if tc.wantCode != "" && res != nil && res.PeakMemoryBytes > lim.MemoryBytes {
				t.Errorf("Run PeakMemoryBytes = %d, above the limit %d", res.PeakMemoryBytes, lim.MemoryBytes)
			}
			// The next call on the same program behaves the same way.
			_, err2 := call(p, `{"x":1}`, lim)
			if codeOf(err2) != tc.wantCode {
				t.Errorf("second Run code = %q (%v), want %q", codeOf(err2), err2, tc.wantCode)
			}
		})
	}
}

func TestStderrIsCapped(t *testing.T) {
	diag := strings.Repeat("d", 100)
	reply := `{"result":"done"}`
	m := testModule{
		imports:  []wasiImport{fdRead, fdWrite},
		memPages: 1,
		data: map[uint32][]byte{
			readIOV:  le32(readBuf, readBufSz),
			writeIOV: le32(replyAt, uint32(len(diag))),
			replyAt:  []byte(diag),
			512:      le32(600, uint32(len(reply))),
			600:      []byte(reply),
		},
	}
	toStderr := cat(i32c(2), i32c(writeIOV), i32c(1), i32c(nwritten), []byte{opCall, 1, opDrop})
	m.start = drainStdin
	for range 5 {
		m.start = cat(m.start, toStderr)
	}
	m.start = cat(m.start, i32c(1), i32c(512), i32c(1), i32c(nwritten), []byte{opCall, 1, opDrop})
	p := moduleProgram(t, sharedRunner(t), m)
	for _, tc := range []struct {
		limit         int64
		wantLen       int
		wantTruncated bool
	}{
		{250, 250, true},
		{500, 500, false},
		{10000, 500, false},
	} {
		lim := limits()
		lim.MaxStderrBytes = tc.limit
		res, err := call(p, `{}`, lim)
		if err != nil {
			t.Fatalf("Run(stderr limit %d) error = %v", tc.limit, err)
		}
		if len(res.Stderr) != tc.wantLen || res.StderrTruncated != tc.wantTruncated {
			t.Errorf("Run(stderr limit %d) Stderr = %d bytes, truncated %v; want %d bytes, truncated %v",
				tc.limit, len(res.Stderr), res.StderrTruncated, tc.wantLen, tc.wantTruncated)
		}
		if string(res.Output) != `"done"` {
			t.Errorf("Run(stderr limit %d) Output = %s, want \"done\"", tc.limit, res.Output)
		}
	}
}

func TestNoStateSurvivesBetweenCalls(t *testing.T) {
	p := goProgram(t, "counter")
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			res, err := call(p, `{}`, limits())
			if err != nil {
				t.Errorf("Run(counter) #%d error = %v", i, err)
				return
			}
			if string(res.Output) != `{"calls":1}` {
				t.Errorf("Run(counter) #%d Output = %s, want {\"calls\":1}", i, res.Output)
			}
		})
		if i%2 == 0 {
			wg.Wait() // some sequential, some concurrent
		}
	}
	wg.Wait()
}

func TestEnvironment(t *testing.T) {
	p := goProgram(t, "envprobe")
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"empty", nil, `{"args":[],"env":[]}`},
		{"declared secrets only", map[string]string{"WIKI_TOKEN": "s3cret", "A": "1"}, `{"args":[],"env":["A=1","WIKI_TOKEN=s3cret"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env == nil {
				t.Setenv("TOOLWARDEN_TEST_LEAK", "host value") // must not reach the guest
			}
			res, err := p.Run(context.Background(), sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Env: tc.env})
			if err != nil {
				t.Fatalf("Run(envprobe) error = %v", err)
			}
			if string(res.Output) != tc.want {
				t.Errorf("Run(envprobe) Output = %s, want %s", res.Output, tc.want)
			}
		})
	}
}

func TestNoFilesystem(t *testing.T) {
	res, err := call(goProgram(t, "fsprobe"), `{}`, limits())
	if err != nil {
		t.Fatalf("Run(fsprobe) error = %v", err)
	}
	var report map[string]string
	if err := json.Unmarshal(res.Output, &report); err != nil {
		t.Fatalf("Run(fsprobe) Output %s: %v", res.Output, err)
	}
	if len(report) < 7 {
		t.Fatalf("Run(fsprobe) report = %v, want 7 attempts", report)
	}
	for what, outcome := range report {
		if !strings.HasPrefix(outcome, "error: ") {
			t.Errorf("fsprobe %s = %q, want an error (no filesystem)", what, outcome)
		}
	}
	// Every path the guest asked for is in the record, refused: a Go guest
	// sends a path under no mount against descriptor -1.
	want := map[string]bool{"/etc/passwd": true, "/etc/hostname": true, "/passwd": true, "/": true, "/tmp/toolwarden-fsprobe": true}
	for _, e := range res.Egress {
		if e.Host != FileHost || e.Allowed || e.Reason != CodeFSEscape {
			t.Errorf("Run(fsprobe) Egress entry %+v, want a refused file access with reason %s", e, CodeFSEscape)
		}
		delete(want, e.Path)
	}
	if len(want) > 0 {
		t.Errorf("Run(fsprobe) Egress = %+v, missing refused paths %v", res.Egress, slices.Sorted(maps.Keys(want)))
	}
}

func TestConcurrentRuns(t *testing.T) {
	p := goProgram(t, "echo")
	const goroutines, each = 12, 3
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				text := fmt.Sprintf("caller %d call %d", g, i)
				res, err := call(p, fmt.Sprintf(`{"text":%q}`, text), limits())
				if err != nil {
					t.Errorf("Run(echo %q) error = %v", text, err)
					return
				}
				if want := fmt.Sprintf(`{"text":%q}`, text); string(res.Output) != want {
					t.Errorf("Run(echo %q) Output = %s, want %s", text, res.Output, want)
				}
			}
		})
	}
	wg.Wait()
}

func TestPrepareRejects(t *testing.T) {
	r := sharedRunner(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("not a module"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := pin(t, "nop", writeModule(t, nopModule))
	for _, tc := range []struct {
		name     string
		spec     sandbox.Spec
		wantCode string
	}{
		{"digest mismatch", sandbox.Spec{Tool: "nop", Path: good.Path, SHA256: strings.Repeat("0", 64)}, sandbox.CodeDigestMismatch},
		{"no pin", sandbox.Spec{Tool: "nop", Path: good.Path}, sandbox.CodeLoad},
		{"malformed pin", sandbox.Spec{Tool: "nop", Path: good.Path, SHA256: "abc"}, sandbox.CodeLoad},
		{"missing file", sandbox.Spec{Tool: "nop", Path: filepath.Join(dir, "missing.wasm"), SHA256: good.SHA256}, sandbox.CodeLoad},
		{"not wasm", pin(t, "garbage", garbage), sandbox.CodeLoad},
		{"no _start", pin(t, "nostart", writeModule(t, noStartModule)), sandbox.CodeLoad},
		{"foreign import", pin(t, "foreign", writeModule(t, foreignModule)), sandbox.CodeLoad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := r.Prepare(context.Background(), tc.spec)
			if err == nil {
				p.Close(context.Background())
			}
			if got := codeOf(err); got != tc.wantCode {
				t.Errorf("Prepare code = %q (%v), want %q", got, err, tc.wantCode)
			}
		})
	}
	p, err := r.Prepare(context.Background(), good)
	if err != nil {
		t.Fatalf("Prepare(good) error = %v, want nil", err)
	}
	p.Close(context.Background())
}

func TestInvalidInvocations(t *testing.T) {
	p := moduleProgram(t, sharedRunner(t), nopModule)
	for _, tc := range []struct {
		name string
		inv  sandbox.Invocation
	}{
		{"zero limits", sandbox.Invocation{Args: []byte(`{}`)}},
		{"relative host mount", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Mounts: []sandbox.Mount{{Host: "data", Guest: "/data"}}}},
		{"relative guest mount", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Mounts: []sandbox.Mount{{Host: t.TempDir(), Guest: "data"}}}},
		{"unclean guest mount", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Mounts: []sandbox.Mount{{Host: t.TempDir(), Guest: "/data/../etc"}}}},
		{"guest mounted twice", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Mounts: []sandbox.Mount{{Host: t.TempDir(), Guest: "/data"}, {Host: t.TempDir(), Guest: "/data"}}}},
		{"missing host directory", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Mounts: []sandbox.Mount{{Host: filepath.Join(t.TempDir(), "missing"), Guest: "/data"}}}},
		{"bad egress pattern", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Egress: []string{"127.0.0.1"}}},
		{"env key with =", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Env: map[string]string{"A=B": "c"}}},
		{"env value with NUL", sandbox.Invocation{Args: []byte(`{}`), Limits: limits(), Env: map[string]string{"A": "b\x00c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Run(context.Background(), tc.inv)
			if err == nil || res != nil {
				t.Errorf("Run = %v, %v; want nil and an error", res, err)
			}
		})
	}
}

func TestCanceledByCaller(t *testing.T) {
	p := moduleProgram(t, sharedRunner(t), spinModule)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // before or during the run: either way it ends as canceled
	_, err := p.Run(ctx, sandbox.Invocation{Args: []byte(`{}`), Limits: limits()})
	if !errors.Is(err, context.Canceled) || codeOf(err) != "(uncoded)" {
		t.Errorf("Run(canceled) error = %v (code %q), want context.Canceled without a code", err, codeOf(err))
	}
}

func TestCallerDeadlineIsATimeout(t *testing.T) {
	p := moduleProgram(t, sharedRunner(t), spinModule)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Run(ctx, sandbox.Invocation{Args: []byte(`{}`), Limits: limits()})
	if got := codeOf(err); got != sandbox.CodeTimeout {
		t.Errorf("Run(caller deadline) code = %q (%v), want %q", got, err, sandbox.CodeTimeout)
	}
}

// TestCloseCancelsCallsAndLeaksNothing runs in a synctest bubble: the
// bubble fails the test if any goroutine the runner started is still
// there once Close has returned and the test is done.
func TestCloseCancelsCallsAndLeaksNothing(t *testing.T) {
	synctest.Test(t, closeCancelsCalls)
}

func closeCancelsCalls(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	spin, err := r.Prepare(context.Background(), pin(t, "spin", writeModule(t, spinModule)))
	if err != nil {
		t.Fatal(err)
	}
	nop, err := r.Prepare(context.Background(), pin(t, "nop", writeModule(t, nopModule)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(nop, `{}`, limits()); err != nil {
		t.Fatalf("Run(nop) error = %v", err)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := call(spin, `{}`, limits())
		done <- err
	}()
	<-started // the call may or may not have begun: either way it must end with Close
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("Runner.Close error = %v", err)
	}
	if err := <-done; codeOf(err) != sandbox.CodeClosed {
		t.Errorf("Run during Close: code = %q (%v), want %q", codeOf(err), err, sandbox.CodeClosed)
	}
	if _, err := call(nop, `{}`, limits()); codeOf(err) != sandbox.CodeClosed {
		t.Errorf("Run after Close: code = %q (%v), want %q", codeOf(err), err, sandbox.CodeClosed)
	}
	if err := nop.Close(context.Background()); err != nil {
		t.Errorf("Program.Close twice: %v", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Runner.Close twice: %v", err)
	}
	if _, err := r.Prepare(context.Background(), pin(t, "nop", writeModule(t, nopModule))); codeOf(err) != sandbox.CodeClosed {
		t.Errorf("Prepare after Close: code = %q (%v), want %q", codeOf(err), err, sandbox.CodeClosed)
	}
}

func TestCacheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	spec := pin(t, "nop", writeModule(t, nopModule))
	for i := range 2 { // the second runner loads from the disk cache
		r, err := New(Config{CacheDir: dir})
		if err != nil {
			t.Fatalf("New(CacheDir) #%d: %v", i, err)
		}
		p, err := r.Prepare(context.Background(), spec)
		if err != nil {
			t.Fatalf("Prepare #%d: %v", i, err)
		}
		res, err := call(p, `{}`, limits())
		if err != nil || string(res.Output) != `"nop"` {
			t.Errorf("Run #%d = %v, %v; want \"nop\"", i, res, err)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var files int
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Errorf("cache dir %s holds no files after Prepare", dir)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if r, err := New(Config{CacheDir: open}); err == nil {
		r.Close(context.Background())
		t.Errorf("New(CacheDir with mode 0777) error = nil, want a refusal")
	}
}

func TestJQ(t *testing.T) {
	p := goProgram(t, "jq")
	for _, tc := range []struct {
		name, args string
		want       string // Output, or the Public of a tool error
		wantCode   string
	}{
		{"field", `{"filter":".a","input":{"a":[1,2]}}`, `{"results":[[1,2]]}`, ""},
		{"many results", `{"filter":".[] | . * 2","input":[1,2,3]}`, `{"results":[2,4,6]}`, ""},
		{"no results", `{"filter":"empty","input":null}`, `{"results":[]}`, ""},
		{"big integers kept", `{"filter":".","input":12345678901234567890123}`, `{"results":[12345678901234567890123]}`, ""},
		{"null input", `{"filter":". == null","input":null}`, `{"results":[true]}`, ""},
		{"$ENV is empty", `{"filter":"$ENV","input":null}`, `{"results":[{}]}`, ""},
		{"env is empty", `{"filter":"env","input":null}`, `{"results":[{}]}`, ""},
		{"halt stops", `{"filter":"1, halt, 2","input":null}`, `{"results":[1]}`, ""},
		{"input refused", `{"filter":"input","input":1}`, "jq: cannot compile filter: input(s)/0 is not allowed", sandbox.CodeToolError},
		{"inputs refused", `{"filter":"[inputs]","input":1}`, "jq: cannot compile filter: input(s)/0 is not allowed", sandbox.CodeToolError},
		{"modules refused", `{"filter":"import \"a\" as a; .","input":1}`, "", sandbox.CodeToolError},
		{"invalid filter", `{"filter":".[","input":1}`, "", sandbox.CodeToolError},
		{"runtime error", `{"filter":".a","input":[1]}`, "jq: expected an object but got: array ([1])", sandbox.CodeToolError},
		{"halt_error", `{"filter":"\"boom\" | halt_error","input":null}`, "", sandbox.CodeToolError},
		{"too many results", `{"filter":"range(20000)","input":null}`, "jq: the filter produced more than 10000 results", sandbox.CodeToolError},
		{"missing input", `{"filter":"."}`, `missing required argument "input"`, sandbox.CodeToolError},
		{"unknown argument", `{"filter":".","input":1,"files":["/etc/passwd"]}`, `decode arguments: unknown member "files" at /files (offset 24)`, sandbox.CodeToolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := call(p, tc.args, limits())
			if got := codeOf(err); got != tc.wantCode {
				t.Fatalf("Run(jq, %s) code = %q (%v), want %q", tc.args, got, err, tc.wantCode)
			}
			switch {
			case tc.wantCode == "" && string(res.Output) != tc.want:
				t.Errorf("Run(jq, %s) Output = %s, want %s", tc.args, res.Output, tc.want)
			case tc.wantCode != "" && tc.want != "" && publicOf(err) != tc.want:
				t.Errorf("Run(jq, %s) Public = %q, want %q", tc.args, publicOf(err), tc.want)
			case tc.wantCode != "" && publicOf(err) == "":
				t.Errorf("Run(jq, %s) Public is empty, want a message", tc.args)
			}
		})
	}
}
