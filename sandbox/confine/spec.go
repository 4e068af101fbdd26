package confine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// Marker is argv[1] of a launcher process.
const Marker = "__toolwarden_launch"

// SocketDir is where the plugin sees the go-plugin socket directory.
const SocketDir = "/run/toolwarden"

// Descriptors a launcher inherits, in this order after stdin, stdout and
// stderr.
const (
	specFD   = 3 // read end of the pipe carrying the JSON Spec
	binaryFD = 4 // the sealed memfd holding the verified plugin binary
	errFD    = 5 // write end of the error pipe, close-on-exec
)

// exitLaunchFailed is the launcher's exit status when it could not exec.
const exitLaunchFailed = 125

// maxSpecBytes caps the spec the launcher reads.
const maxSpecBytes = 4 << 20

// maxErrorBytes caps the error text the broker reads back.
const maxErrorBytes = 16 << 10

// Spec is everything the launcher needs. Paths are absolute host paths.
type Spec struct {
	// Argv0 is the plugin's argv[0]; it gets no other argument.
	Argv0 string `json:"argv0"`
	// Env is the plugin's whole environment, as KEY=VALUE entries.
	Env []string `json:"env"`
	// Root is an empty directory, owned by root, on which the launcher
	// mounts the plugin's new root (in its own mount namespace, so the
	// directory stays empty on the host).
	Root string `json:"root"`
	// SocketDir is the go-plugin socket directory, bind-mounted
	// read-write at [SocketDir] in the plugin's view.
	SocketDir string `json:"socket_dir"`
	// Libraries are files or directories the plugin may read (system
	// libraries), bind-mounted read-only at the same paths. Symbolic links
	// among them are recreated.
	Libraries []string `json:"libraries,omitempty"`
	// Loaders are files beneath Libraries the plugin may also execute
	// (the dynamic loader). Nothing else is executable.
	Loaders []string `json:"loaders,omitempty"`
	// Mounts are read-only, no-exec bind mounts.
	Mounts []Mount `json:"mounts,omitempty"`
	// TmpBytes is the size of the private tmpfs /tmp.
	TmpBytes int64 `json:"tmp_bytes"`
	// UID and GID are the unprivileged ids the plugin runs as.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Hostname is the plugin's host name in its UTS namespace.
	Hostname string `json:"hostname"`
	// Rlimits are the plugin's resource limits.
	Rlimits Rlimits `json:"rlimits"`
	// RequireLandlock makes a kernel without landlock a launch error.
	RequireLandlock bool `json:"require_landlock"`
}

// Mount is a read-only bind mount.
type Mount struct {
	Host  string `json:"host"`
	Guest string `json:"guest"`
}

// Rlimits are the limits set just before the exec. Every value must be
// positive except Core, which is always 0.
type Rlimits struct {
	AddressSpaceBytes int64 `json:"address_space_bytes"` // RLIMIT_AS
	DataBytes         int64 `json:"data_bytes"`          // RLIMIT_DATA: the memory limit
	CPUSeconds        int64 `json:"cpu_seconds"`         // RLIMIT_CPU soft; hard is one more
	Processes         int64 `json:"processes"`           // RLIMIT_NPROC, threads included
	OpenFiles         int64 `json:"open_files"`          // RLIMIT_NOFILE
	FileBytes         int64 `json:"file_bytes"`          // RLIMIT_FSIZE
}

// Process is one launcher process, prepared by [Command].
type Process struct {
	// Cmd is the launcher command. The caller may take its stdout and
	// stderr pipes before calling Start, and must Wait for it.
	Cmd  *exec.Cmd
	spec []byte

	mu     sync.Mutex // guards following
	proc   *os.Process
	killed bool
}

// Cloneflags are the namespaces every launcher starts in.
const Cloneflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
	syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWCGROUP

// Command prepares a launcher that will exec the verified binary under
// spec. binary must be the sealed memfd; it stays owned by the caller.
func Command(spec Spec, binary *os.File) (*Process, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("confine: encode spec: %w", err)
	}
	if len(data) > maxSpecBytes {
		return nil, fmt.Errorf("confine: spec is %d bytes, more than %d", len(data), maxSpecBytes)
	}
	cmd := &exec.Cmd{
		// /proc/self/exe is the running broker image, even if its file
		// was replaced or removed since it started.
		Path: "/proc/self/exe",
		Args: []string{spec.Argv0, Marker},
		Env:  []string{},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: Cloneflags,
			Setpgid:    true,
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	return &Process{Cmd: cmd, spec: data}, nil
}

func (s *Spec) validate() error {
	switch {
	case s.Argv0 == "" || strings.ContainsRune(s.Argv0, 0):
		return errors.New("confine: Spec.Argv0 is empty or has a NUL")
	case !abs(s.Root):
		return errors.New("confine: Spec.Root is not an absolute path")
	case !abs(s.SocketDir):
		return errors.New("confine: Spec.SocketDir is not an absolute path")
	case s.UID <= 0 || s.GID <= 0:
		return errors.New("confine: Spec.UID and Spec.GID must be unprivileged (positive)")
	case s.TmpBytes <= 0:
		return errors.New("confine: Spec.TmpBytes must be positive")
	}
	r := s.Rlimits
	if r.AddressSpaceBytes <= 0 || r.DataBytes <= 0 || r.CPUSeconds <= 0 || r.Processes <= 0 || r.OpenFiles <= 0 || r.FileBytes <= 0 {
		return errors.New("confine: every Spec.Rlimits value must be positive")
	}
	for _, e := range s.Env {
		if !strings.Contains(e, "=") || strings.ContainsRune(e, 0) {
			return fmt.Errorf("confine: Spec.Env entry %q is not KEY=VALUE", strings.SplitN(e, "=", 2)[0])
		}
	}
	for _, p := range append(append([]string(nil), s.Libraries...), s.Loaders...) {
		if !abs(p) {
			return fmt.Errorf("confine: Spec.Libraries or Spec.Loaders entry %q is not absolute", p)
		}
	}
	for _, m := range s.Mounts {
		if !abs(m.Host) || !abs(m.Guest) || m.Guest == "/" || m.Guest == "/tmp" || strings.HasPrefix(m.Guest, "/tmp/") ||
			m.Guest == SocketDir || strings.HasPrefix(m.Guest, SocketDir+"/") || strings.HasPrefix(m.Guest, "/dev/") || m.Guest == "/dev" {
			return fmt.Errorf("confine: Spec.Mounts entry %q → %q is not allowed", m.Host, m.Guest)
		}
	}
	return nil
}

// abs reports whether p is an absolute, clean path without NULs.
func abs(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return false
	}
	for _, el := range strings.Split(p[1:], "/") {
		if el == "." || el == ".." || (el == "" && p != "/") {
			return false
		}
	}
	return true
}

// Start starts the launcher and returns once it has exec'd the plugin (nil)
// or failed to (its error, after the launcher exited). If ctx ends first
// the launcher is killed. The caller still owns Cmd and must Wait for it.
func (p *Process) Start(ctx context.Context, binary *os.File) error {
	specR, specW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("confine: spec pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return fmt.Errorf("confine: error pipe: %w", err)
	}
	defer errR.Close()
	p.Cmd.ExtraFiles = []*os.File{specR, binary, errW}
	p.mu.Lock()
	if p.killed {
		p.mu.Unlock()
		specR.Close()
		specW.Close()
		errW.Close()
		return errors.New("confine: killed before it started")
	}
	err = p.Cmd.Start()
	p.proc = p.Cmd.Process
	p.mu.Unlock()
	specR.Close()
	errW.Close()
	if err != nil {
		specW.Close()
		return fmt.Errorf("confine: start launcher: %w", err)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := specW.Write(p.spec)
		specW.Close()
		wrote <- err
	}()
	read := make(chan []byte, 1)
	go func() {
		msg, _ := io.ReadAll(io.LimitReader(errR, maxErrorBytes))
		read <- msg
	}()
	select {
	case msg := <-read:
		<-wrote // the launcher read the spec, or died and the write failed
		if len(msg) > 0 {
			return &Error{Message: string(msg)}
		}
		return nil
	case <-ctx.Done():
		p.Kill()
		<-read
		<-wrote
		return fmt.Errorf("confine: %w", ctx.Err())
	}
}

// Kill sends SIGKILL to the launcher's (then the plugin's) process group
// and process. Killing PID 1 of the PID namespace ends every process in it.
// A Kill before Start makes Start fail.
func (p *Process) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killed = true
	if p.proc == nil {
		return
	}
	_ = syscall.Kill(-p.proc.Pid, syscall.SIGKILL)
	_ = p.proc.Kill() // through its pidfd: never another process
}

// Started reports whether the launcher process was started.
func (p *Process) Started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil
}

// Error is a failure the launcher reported before it could exec.
type Error struct {
	Message string
}

func (e *Error) Error() string { return "confine: " + e.Message }
