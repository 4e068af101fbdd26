package plugin

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// A broker killed with SIGKILL leaves its runner's state directory behind;
// the next runner removes it, and leaves alone the directories of runners
// that still run and those it cannot attribute.
func TestSweepStateDirs(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	mk := func(name, owner string) string {
		dir := filepath.Join(os.TempDir(), name)
		if err := os.MkdirAll(filepath.Join(dir, "p1", "root"), 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	// A process that has exited: its pid is gone (or reused, with another
	// start time).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	start, err := processStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dead := mk(stateDirPrefix+"dead", strconv.Itoa(cmd.Process.Pid)+" 1\n")
	reused := mk(stateDirPrefix+"reused", strconv.Itoa(os.Getpid())+" 1\n") // our pid, another start time
	alive := mk(stateDirPrefix+"alive", strconv.Itoa(os.Getpid())+" "+start+"\n")
	unowned := mk(stateDirPrefix+"unowned", "")
	garbled := mk(stateDirPrefix+"garbled", "not a pid\n")
	other := mk("twx-other", strconv.Itoa(cmd.Process.Pid)+" 1\n")

	sweepStateDirs(slog.New(slog.DiscardHandler))

	for dir, want := range map[string]bool{dead: false, reused: false, alive: true, unowned: true, garbled: true, other: true} {
		_, err := os.Stat(dir)
		if got := err == nil; got != want {
			t.Errorf("%s: exists = %v, want %v", filepath.Base(dir), got, want)
		}
	}
}

func TestWriteOwner(t *testing.T) {
	dir := t.TempDir()
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		t.Fatal(err)
	}
	start, _ := processStart(os.Getpid())
	if want := strconv.Itoa(os.Getpid()) + " " + start + "\n"; string(data) != want {
		t.Errorf("owner = %q, want %q", data, want)
	}
}
