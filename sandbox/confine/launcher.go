package confine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// init runs the launcher in a process started as one, before most of the
// program's packages initialize. The Go specification initializes packages
// in import-path order among those whose imports are initialized; this
// package imports only the standard library and golang.org/x/sys/unix, so
// it runs before the packages that wait on golang.org/x/text, x/net or
// gRPC, whose initialization costs a broker about 13 ms at start (the
// mcp-go server's schema compiler alone compiles its metaschemas at init).
// A launcher never needed them, and a plugin start no longer pays for them.
func init() {
	if IsLauncher() {
		Main()
	}
}

// IsLauncher reports whether this process was started as a launcher: PID 1
// of its namespace with exactly the argument [Marker].
func IsLauncher() bool {
	return len(os.Args) == 2 && os.Args[1] == Marker && os.Getpid() == 1
}

// Main runs the launcher: it confines the process as its [Spec] says and
// execs the plugin. It never returns: on any failure it reports the error
// on the error pipe and exits with status 125.
//
// # Notes
//
// Main must run before the process starts goroutines of its own (first
// thing in main or TestMain). Per-thread state (no_new_privs, the landlock
// domain, the seccomp filter, the capability bounding set) is set on one
// locked OS thread and the exec happens from that same thread, so the
// plugin inherits all of it.
func Main() {
	runtime.LockOSThread()
	errPipe := os.NewFile(errFD, "launch-errors")
	err := run()
	if errPipe != nil {
		fmt.Fprint(errPipe, err.Error())
	}
	os.Exit(exitLaunchFailed)
}

func run() error {
	if os.Getpid() != 1 {
		return errors.New("the launcher is not PID 1 of a new PID namespace")
	}
	spec, err := readSpec()
	if err != nil {
		return err
	}
	if err := spec.validate(); err != nil {
		return err
	}
	if err := buildRoot(spec); err != nil {
		return fmt.Errorf("build root: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	ruleset, err := newRuleset(spec)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	if err := dropPrivileges(spec); err != nil {
		return err
	}
	if ruleset >= 0 {
		if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); e != 0 {
			return fmt.Errorf("landlock: restrict self: %w", e)
		}
		unix.Close(ruleset)
	}
	if err := installSeccomp(); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	// Everything the exec needs is allocated before the limits: past them
	// this process can hardly allocate.
	argv, envv, err := execArgs(spec)
	if err != nil {
		return err
	}
	if err := setRlimits(spec.Rlimits); err != nil {
		return err
	}
	return execBinary(argv, envv)
}

func readSpec() (*Spec, error) {
	f := os.NewFile(specFD, "launch-spec")
	if f == nil {
		return nil, errors.New("no spec descriptor")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if len(data) > maxSpecBytes {
		return nil, errors.New("spec too large")
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	return &s, nil
}

// loopbackUp brings up lo, the network namespace's only interface.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// dropPrivileges empties the bounding set, switches to the unprivileged
// ids and sets no_new_privs and the parent-death signal.
func dropPrivileges(spec *Spec) error {
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the last capability this kernel knows
			}
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	// The syscall package applies these to every thread of the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(spec.GID, spec.GID, spec.GID); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(spec.UID, spec.UID, spec.UID); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	// A credential change clears the parent-death signal; set it again.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("pdeathsig: %w", err)
	}
	return nil
}

func setRlimits(r Rlimits) error {
	set := []struct {
		name     string
		resource int
		cur, max uint64
	}{
		{"RLIMIT_CORE", unix.RLIMIT_CORE, 0, 0},
		{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, uint64(r.OpenFiles), uint64(r.OpenFiles)},
		{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE, uint64(r.FileBytes), uint64(r.FileBytes)},
		{"RLIMIT_NPROC", unix.RLIMIT_NPROC, uint64(r.Processes), uint64(r.Processes)},
		{"RLIMIT_CPU", unix.RLIMIT_CPU, uint64(r.CPUSeconds), uint64(r.CPUSeconds) + 1},
		{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK, 0, 0},
		{"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE, 0, 0},
		// The address-space and data limits come last: past them this
		// process can hardly allocate, and the exec follows at once.
		{"RLIMIT_AS", unix.RLIMIT_AS, uint64(r.AddressSpaceBytes), uint64(r.AddressSpaceBytes)},
		{"RLIMIT_DATA", unix.RLIMIT_DATA, uint64(r.DataBytes), uint64(r.DataBytes)},
	}
	for _, l := range set {
		if err := unix.Prlimit(0, l.resource, &unix.Rlimit{Cur: l.cur, Max: l.max}, nil); err != nil {
			return fmt.Errorf("set %s: %w", l.name, err)
		}
	}
	return nil
}

// execArgs builds the NULL-terminated argv and envp arrays.
func execArgs(spec *Spec) (argv, envv []*byte, err error) {
	if argv, err = syscall.SlicePtrFromStrings([]string{spec.Argv0}); err != nil {
		return nil, nil, err
	}
	if envv, err = syscall.SlicePtrFromStrings(spec.Env); err != nil {
		return nil, nil, err
	}
	return argv, envv, nil
}

// emptyPath is the "" execveat resolves with AT_EMPTY_PATH.
var emptyPath = [1]byte{0}

// execBinary execs the memfd with AT_EMPTY_PATH: no path is resolved, so
// nothing can be swapped in between the digest check and the exec.
func execBinary(argv, envv []*byte) error {
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(binaryFD), uintptr(unsafe.Pointer(&emptyPath[0])),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), uintptr(unix.AT_EMPTY_PATH), 0)
	return fmt.Errorf("execveat: %w", e)
}
