package plugin

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// stateDirPrefix names the state directories runners make for themselves
// in the temporary directory.
const stateDirPrefix = "twp-"

// ownerFile, in a state directory a runner made, holds the process id and
// start time of the process that made it.
const ownerFile = "owner"

// processStart returns the start time of process pid, in clock ticks since
// boot (field 22 of /proc/PID/stat): with the pid, it names one process
// across pid reuse.
func processStart(pid int) (string, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return string(fields[19]), nil
}

// writeOwner records this process as the owner of dir.
func writeOwner(dir string) error {
	start, err := processStart(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+" "+start+"\n"), 0o600)
}

// sweepStateDirs removes the state directories, in the temporary
// directory, of runners whose process is gone without closing them (a
// broker killed with SIGKILL leaves its directory behind). A directory
// without an owner record, or whose owner runs, is left alone.
func sweepStateDirs(logger *slog.Logger) {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), stateDirPrefix+"*"))
	if err != nil {
		return
	}
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		var pid int
		var start string
		if _, err := fmt.Sscanf(string(data), "%d %s", &pid, &start); err != nil || pid <= 0 {
			continue
		}
		if now, err := processStart(pid); err == nil && now == start {
			continue // the owner runs
		}
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("plugin: could not remove the state directory of a runner that is gone", "dir", dir, "err", err)
			continue
		}
		logger.Info("plugin: removed the state directory of a runner that is gone", "dir", dir, "pid", pid)
	}
}
