package confine

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offsets into struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits on little-endian machines
)

// cloneNamespaces are the clone flags that create namespaces.
const cloneNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// Filter returns the seccomp program the launcher installs:
//
//   - a foreign architecture (e.g. the 32-bit syscall entry) kills the
//     process, and so does an x32 syscall number on amd64;
//   - every syscall in the deny list fails with EPERM: ptrace and
//     process_vm_*, mount and the new mount API, pivot_root, chroot,
//     unshare and setns, kernel modules, kexec, bpf, perf_event_open,
//     keyctl and friends, userfaultfd, io_uring, handle-based opens,
//     swap, reboot, clock and time changes, acct, quotactl, syslog;
//   - fork and vfork fail with EPERM; clone fails with EPERM unless it
//     creates a thread (CLONE_THREAD) and no namespace; clone3 fails with
//     ENOSYS, so threads fall back to clone, whose flags a filter can read.
//     A plugin is one process: it cannot leave a daemon or fork-bomb;
//   - everything else is allowed.
func Filter() ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, errors.New("no seccomp filter for this architecture")
	}
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k, Jt: jt, Jf: jf}
	}
	ret := func(k uint32) unix.SockFilter { return stmt(unix.BPF_RET|unix.BPF_K, k) }
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		kill   = unix.SECCOMP_RET_KILL_PROCESS
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	f := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch),
		jeq(auditArch, 1, 0),
		ret(kill),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr),
	}
	if x32Bit != 0 {
		f = append(f,
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: x32Bit, Jt: 0, Jf: 1},
			ret(kill))
	}
	for _, nr := range denied {
		f = append(f, jeq(uint32(nr), 0, 1), ret(eperm))
	}
	f = append(f, jeq(uint32(unix.SYS_CLONE3), 0, 1), ret(enosys))
	// clone: the last block, reached by a jump past "allow".
	f = append(f, jeq(uint32(unix.SYS_CLONE), 1, 0), ret(allow))
	f = append(f,
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArg0),
		unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: cloneNamespaces, Jt: 0, Jf: 1},
		ret(eperm),
		unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: unix.CLONE_THREAD, Jt: 0, Jf: 1},
		ret(allow),
		ret(eperm),
	)
	if len(f) > 4096 {
		return nil, fmt.Errorf("filter has %d instructions", len(f))
	}
	return f, nil
}

// installSeccomp installs the filter on the calling thread (the exec
// carries it to the plugin). no_new_privs must already be set.
func installSeccomp() error {
	f, err := Filter()
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return e
	}
	return nil
}
