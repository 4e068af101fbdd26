package broker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// KillSwitch is a file security teams edit to switch tools or tenants off
// without a restart. Each non-blank line not starting with '#' is one of:
//
//	all            every call is refused
//	tool NAME      calls of tool NAME are refused
//	tenant NAME    calls by tenant NAME are refused
//
// The file is re-read when its modification time or size changes. A missing
// file switches nothing off; a file that cannot be read or parsed switches
// everything off (fail closed) until it is fixed.
//
// # Notes
//
// The zero value with Path set is ready to use and safe for concurrent use.
type KillSwitch struct {
	Path string

	mu      sync.Mutex // guards following
	mtime   time.Time
	size    int64
	loaded  bool
	all     bool
	tools   map[string]bool
	tenants map[string]bool
	broken  error
}

// Check returns a denied.kill_switch *Error if tenant or tool is switched off.
func (k *KillSwitch) Check(tenant, tool string) *Error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	switch {
	case k.broken != nil:
		return &Error{Code: CodeKillSwitch, Public: "kill switch file is unreadable; all calls refused", Err: k.broken}
	case k.all:
		return &Error{Code: CodeKillSwitch, Public: "all tools are switched off"}
	case k.tools[tool]:
		return &Error{Code: CodeKillSwitch, Public: fmt.Sprintf("tool %q is switched off", tool)}
	case k.tenants[tenant]:
		return &Error{Code: CodeKillSwitch, Public: "tenant is switched off"}
	}
	return nil
}

func (k *KillSwitch) refresh() {
	st, err := os.Stat(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		k.all, k.tools, k.tenants, k.broken, k.loaded = false, nil, nil, nil, false
		return
	}
	if err != nil {
		k.broken = fmt.Errorf("stat kill switch %s: %w", k.Path, err)
		return
	}
	if k.loaded && st.ModTime().Equal(k.mtime) && st.Size() == k.size {
		return
	}
	data, err := os.ReadFile(k.Path)
	if err != nil {
		k.broken = fmt.Errorf("read kill switch %s: %w", k.Path, err)
		return
	}
	all, tools, tenants, err := parseKillSwitch(data)
	if err != nil {
		k.broken = fmt.Errorf("kill switch %s: %w", k.Path, err)
		return
	}
	k.all, k.tools, k.tenants, k.broken = all, tools, tenants, nil
	k.mtime, k.size, k.loaded = st.ModTime(), st.Size(), true
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
