package broker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// KillSwitchPoll is how often the kill switch file is checked for a
// change: a switch pulled by editing the file takes effect within it.
const KillSwitchPoll = 500 * time.Millisecond

// killSwitch watches a file security teams edit to switch tools or tenants
// off without a restart. Each non-blank line not starting with '#' is one
// of:
//
//	all            every call is refused
//	tool NAME      calls of tool NAME are refused
//	tenant NAME    calls by tenant NAME are refused
//
// A goroutine re-reads the file when its modification time or size
// changes, every KillSwitchPoll; a call only reads the state it left, with
// no lock and no system call. A missing file switches nothing off; a file
// that cannot be read or parsed switches everything off (fail closed)
// until it is fixed, and the reason, with the line, is logged and given to
// each refused call's audit record.
type killSwitch struct {
	path string
	log  *slog.Logger

	state atomic.Pointer[killState]

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// killState is one reading of the file.
type killState struct {
	all     bool
	tools   map[string]bool
	tenants map[string]bool
	broken  error // non-nil: every call is refused

	mtime  time.Time
	size   int64
	exists bool
}

// newKillSwitch reads path once and starts watching it.
func newKillSwitch(path string, log *slog.Logger) *killSwitch {
	k := &killSwitch{path: path, log: log, stop: make(chan struct{})}
	k.state.Store(k.read(nil))
	k.wg.Add(1)
	go k.watch()
	return k
}

// check returns a denied.kill_switch *Error if tenant or tool is switched
// off.
func (k *killSwitch) check(tenant, tool string) *Error {
	s := k.state.Load()
	switch {
	case s.broken != nil:
		return &Error{Code: CodeKillSwitch, Public: "every call is switched off: the kill switch file cannot be used", Err: s.broken}
	case s.all:
		return &Error{Code: CodeKillSwitch, Public: "all tools are switched off"}
	case s.tools[tool]:
		return &Error{Code: CodeKillSwitch, Public: fmt.Sprintf("tool %q is switched off", tool)}
	case s.tenants[tenant]:
		return &Error{Code: CodeKillSwitch, Public: "tenant is switched off"}
	}
	return nil
}

// close stops the watcher and waits for it. Calling it twice is safe.
func (k *killSwitch) close() {
	k.once.Do(func() { close(k.stop) })
	k.wg.Wait()
}

func (k *killSwitch) watch() {
	defer k.wg.Done()
	t := time.NewTicker(KillSwitchPoll)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
			prev := k.state.Load()
			if next := k.read(prev); next != prev {
				k.state.Store(next)
				k.report(prev, next)
			}
		}
	}
}

// read returns the state of the file now, or prev itself if the file has
// not changed since prev was read.
func (k *killSwitch) read(prev *killState) *killState {
	st, err := os.Stat(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		if prev != nil && !prev.exists && prev.broken == nil {
			return prev
		}
		return &killState{}
	}
	if err != nil {
		return &killState{broken: fmt.Errorf("stat kill switch %s: %w", k.path, err), exists: true}
	}
	if prev != nil && prev.exists && st.ModTime().Equal(prev.mtime) && st.Size() == prev.size {
		return prev
	}
	s := &killState{mtime: st.ModTime(), size: st.Size(), exists: true}
	data, err := os.ReadFile(k.path)
	if err != nil {
		s.broken = fmt.Errorf("read kill switch %s: %w", k.path, err)
		return s
	}
	s.all, s.tools, s.tenants, err = parseKillSwitch(data)
	if err != nil {
		s.broken = fmt.Errorf("kill switch %s: %w", k.path, err)
	}
	return s
}

// report logs a change of state.
func (k *killSwitch) report(prev, next *killState) {
	switch {
	case next.broken != nil:
		k.log.Error("kill switch file unusable: every call is refused until it is fixed", "path", k.path, "err", next.broken)
	case next.all:
		k.log.Warn("kill switch: all tools switched off", "path", k.path)
	case len(next.tools)+len(next.tenants) > 0:
		k.log.Warn("kill switch changed", "path", k.path, "tools", keys(next.tools), "tenants", keys(next.tenants))
	case prev.broken != nil || prev.all || len(prev.tools)+len(prev.tenants) > 0:
		k.log.Info("kill switch: nothing switched off", "path", k.path)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func parseKillSwitch(data []byte) (all bool, tools, tenants map[string]bool, err error) {
	tools, tenants = make(map[string]bool), make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && f[0] == "all":
			all = true
		case len(f) == 2 && f[0] == "tool":
			tools[f[1]] = true
		case len(f) == 2 && f[0] == "tenant":
			tenants[f[1]] = true
		default:
			return false, nil, nil, fmt.Errorf("line %d: %q is not \"all\", \"tool NAME\" or \"tenant NAME\"", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return false, nil, nil, err
	}
	return all, tools, tenants, nil
}
