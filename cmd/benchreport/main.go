// Command benchreport runs toolwarden's benchmarks several times and prints
// each figure as the median of the runs, beside the baseline it is judged
// against, measured in the same run: the machines are shared and noisy, so
// ratios hold where absolute times don't. The runs are interleaved (each
// run measures a benchmark and its baseline back to back), so a slow spell
// of the machine weighs on both. `make bench` runs it.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// comparison is one target: a measured benchmark against its baseline.
type comparison struct {
	issue    string
	what     string
	pkg      string
	bench    string // benchmark name (without -N suffix)
	baseline string // baseline benchmark name(s), summed: "A+B"; "A:unit" takes another metric of A
	metric   string // "ns/op" or a custom metric unit
	target   string // human description of the target
	check    func(ratio float64) bool
}

var comparisons = []comparison{
	{"2", "pipeline per call (no-op sandbox) vs its floors, one schema validation + one raw audit-line append, alternated",
		"./broker", "BenchmarkCallToolPaired", "BenchmarkCallToolPaired:floors-ns/call", "pipeline-ns/call", "≤ 1.5×", func(r float64) bool { return r <= 1.5 }},
	{"2", "  the same, pipeline and floors run one after the other, not alternated (noisier)",
		"./broker", "BenchmarkCallToolNoop", "BenchmarkFloorSchemaValidate+BenchmarkFloorAuditLine", "ns/op", "(reported)", nil},
	{"2", "one fresh instance of tools/echo vs a no-runtime module",
		"./sandbox/wasm", "BenchmarkFreshInstanceEcho", "BenchmarkFreshInstanceNop", "ns/op", "(reported)", nil},
	{"2", "audit group commit, 16 writers, durable vs raw unsynced appends (records/s)",
		"./broker/audit", "BenchmarkAppendGroupCommit16", "BenchmarkAppendRawUnsynced16", "records/s", "≥ 0.05×", func(r float64) bool { return r >= 0.05 }},
	{"3", "tools/call through the front door (broker answering at once), 1 client, vs bare mcp-go no-op handler",
		"./broker/mcpserver", "BenchmarkHTTPEcho1", "BenchmarkBareMCPGo1", "ns/op", "(reported)", nil},
	{"3", "tools/call through the front door (broker answering at once), 16 clients, vs bare mcp-go no-op handler",
		"./broker/mcpserver", "BenchmarkHTTPEcho16", "BenchmarkBareMCPGo16", "ns/op", "(reported)", nil},
	{"3", "tools/call echo (real wasm tool, real broker, durable audit) over Streamable HTTP, 1 client, vs bare mcp-go no-op handler",
		"./broker/mcpserver", "BenchmarkHTTPEchoWasm1", "BenchmarkBareMCPGo1", "ns/op", "(reported)", nil},
	{"3", "tools/call echo (real wasm tool, real broker, durable audit) over Streamable HTTP, 16 clients, vs bare mcp-go no-op handler",
		"./broker/mcpserver", "BenchmarkHTTPEchoWasm16", "BenchmarkBareMCPGo16", "ns/op", "(reported)", nil},
	{"5", "warm call through an isolated plugin (Program.Run, default pool, rotation included) vs plain go-plugin, same binary, calls alternated",
		"./sandbox/plugin", "BenchmarkWarmCallPaired", "BenchmarkWarmCallPaired:plain-ns/call", "isolated-ns/call", "≤ 1.1×", func(r float64) bool { return r <= 1.1 }},
	{"5", "  of which the confinement alone: the isolated process's gRPC client called directly vs plain go-plugin, alternated",
		"./sandbox/plugin", "BenchmarkWarmCallPairedDirect", "BenchmarkWarmCallPairedDirect:plain-ns/call", "isolated-ns/call", "(reported)", nil},
	{"5", "  without rotation: processes that never retire vs plain go-plugin, alternated",
		"./sandbox/plugin", "BenchmarkWarmCallPairedNoRotation", "BenchmarkWarmCallPairedNoRotation:plain-ns/call", "isolated-ns/call", "(reported)", nil},
	{"5", "  the same two run one after the other, not alternated (noisier)",
		"./sandbox/plugin", "BenchmarkWarmCallIsolated", "BenchmarkWarmCallPlain", "ns/op", "(reported)", nil},
	{"5", "cold start of an isolated plugin vs plain go-plugin launch",
		"./sandbox/plugin", "BenchmarkColdStartIsolated", "BenchmarkColdStartPlain", "ns/op", "≤ 3×", func(r float64) bool { return r <= 3 }},
	{"6", "audit with checkpoints and redaction, 16 writers, durable vs raw unsynced appends (records/s)",
		"./broker/audit", "BenchmarkAppendSignedRedacted16", "BenchmarkAppendRawUnsynced16", "records/s", "≥ 0.05×", func(r float64) bool { return r >= 0.05 }},
	{"6", "audit query over 1 M records vs a plain sequential read of the same files",
		"./broker/audit", "BenchmarkQuery1M", "BenchmarkReadLines1M", "ns/op", "≤ 2×", func(r float64) bool { return r <= 2 }},
	{"4", "egress check per request (no DNS) vs one plain loopback HTTP GET",
		"./sandbox/egress", "BenchmarkEgressCheck", "BenchmarkPlainLoopbackGET", "ns/op", "≤ 0.05×", func(r float64) bool { return r <= 0.05 }},
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	count := flag.Int("count", 6, "runs of each benchmark")
	only := flag.String("issue", "", "only the comparisons of this issue")
	flag.Parse()

	byPkg := map[string][]comparison{}
	var order []string
	for _, c := range comparisons {
		if *only != "" && c.issue != *only {
			continue
		}
		if _, ok := byPkg[c.pkg]; !ok {
			order = append(order, c.pkg)
		}
		byPkg[c.pkg] = append(byPkg[c.pkg], c)
	}
	failed := false
	for _, pkg := range order {
		names := map[string]bool{}
		for _, c := range byPkg[pkg] {
			names[c.bench] = true
			for _, b := range strings.Split(c.baseline, "+") {
				name, _, _ := strings.Cut(b, ":")
				names[name] = true
			}
		}
		var list []string
		for n := range names {
			list = append(list, regexp.QuoteMeta(n))
		}
		sort.Strings(list)
		pattern := "^(" + strings.Join(list, "|") + ")$"
		// count separate runs of every benchmark of the package, one after
		// the other, rather than -count N of each in turn: a slow spell of
		// the machine then falls on the benchmark and its baseline alike.
		var out bytes.Buffer
		ok := true
		for i := range *count {
			fmt.Fprintf(os.Stderr, "running %s -bench %s (run %d of %d)\n", pkg, pattern, i+1, *count)
			cmd := exec.Command("go", "test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", "1", pkg)
			cmd.Stdout = &out
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n%s", pkg, err, out.String())
				ok = false
				break
			}
		}
		if !ok {
			failed = true
			continue
		}
		samples := parse(out.Bytes())
		for _, c := range byPkg[pkg] {
			m := median(samples[c.bench][c.metric])
			var base float64
			ok := true
			for _, b := range strings.Split(c.baseline, "+") {
				name, unit, ok := strings.Cut(b, ":")
				if !ok {
					unit = c.metric
				}
				v := samples[name][unit]
				if len(v) == 0 {
					ok = false
				}
				base += median(v)
			}
			if len(samples[c.bench][c.metric]) == 0 || !ok {
				fmt.Printf("issue %s  %s\n  missing samples for %s or %s (%s)\n", c.issue, c.what, c.bench, c.baseline, c.metric)
				failed = true
				continue
			}
			ratio := m / base
			verdict := ""
			if c.check != nil {
				verdict = "meets target"
				if !c.check(ratio) {
					verdict = "MISSES target"
				}
			}
			fmt.Printf("issue %s  %s\n  %-32s %14s %s (median of %d)%s\n  %-32s %14s %s%s\n  ratio %.3f×  target %s  %s\n\n",
				c.issue, c.what, c.bench, human(m), c.metric, len(samples[c.bench][c.metric]), extras(samples[c.bench], c.metric),
				c.baseline, human(base), baseUnit(c), baseExtras(samples, c), ratio, c.target, verdict)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// parse returns benchmark → unit → samples.
func parse(out []byte) map[string]map[string][]float64 {
	res := map[string]map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		if res[name] == nil {
			res[name] = map[string][]float64{}
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return res
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3g G", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.4g M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.4g k", v/1e3)
	}
	return fmt.Sprintf("%.4g", v)
}

// extras formats the medians of a benchmark's other custom metrics (calls/s,
// latency percentiles), skipping the main metric and allocation counts.
//
// A paired benchmark (one that reports both figures) has its extras printed
// once, beside the measured figure.
func extras(units map[string][]float64, main string) string {
	var keys []string
	for u := range units {
		if u != main && u != "ns/op" && u != "B/op" && u != "allocs/op" {
			keys = append(keys, u)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, u := range keys {
		fmt.Fprintf(&b, "  %s %s", human(median(units[u])), u)
	}
	return b.String()
}

// baseExtras returns the extras of a single baseline that is another
// benchmark.
func baseExtras(samples map[string]map[string][]float64, c comparison) string {
	if strings.ContainsAny(c.baseline, "+:") {
		return ""
	}
	return extras(samples[c.baseline], c.metric)
}

// baseUnit is the unit of c's baseline.
func baseUnit(c comparison) string {
	if _, unit, ok := strings.Cut(c.baseline, ":"); ok && !strings.Contains(c.baseline, "+") {
		return unit
	}
	return c.metric
}
