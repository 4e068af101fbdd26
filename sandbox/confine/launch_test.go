package confine

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func validSpec() Spec {
	return Spec{
		Argv0: "tool", Env: []string{"A=1"}, Root: "/run/x/root", SocketDir: "/run/x/sock",
		TmpBytes: 1 << 20, UID: 1500000000, GID: 1500000000,
		Rlimits: Rlimits{AddressSpaceBytes: 1 << 32, DataBytes: 1 << 26, CPUSeconds: 10, Processes: 64, OpenFiles: 64, FileBytes: 1 << 20},
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Spec)
		want   string // "" for valid
	}{
		{"valid", func(*Spec) {}, ""},
		{"root uid", func(s *Spec) { s.UID = 0 }, "unprivileged"},
		{"relative root", func(s *Spec) { s.Root = "root" }, "Spec.Root"},
		{"dotdot socket dir", func(s *Spec) { s.SocketDir = "/run/../etc" }, "Spec.SocketDir"},
		{"env without =", func(s *Spec) { s.Env = []string{"SECRET"} }, "KEY=VALUE"},
		{"zero rlimit", func(s *Spec) { s.Rlimits.DataBytes = 0 }, "Rlimits"},
		{"mount over /tmp", func(s *Spec) { s.Mounts = []Mount{{Host: "/data", Guest: "/tmp/data"}} }, "not allowed"},
		{"mount over root", func(s *Spec) { s.Mounts = []Mount{{Host: "/data", Guest: "/"}} }, "not allowed"},
		{"mount over socket dir", func(s *Spec) { s.Mounts = []Mount{{Host: "/data", Guest: SocketDir}} }, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(&s)
			err := s.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validate() error = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("validate() error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	f, err := Filter()
	if err != nil {
		t.Skipf("no seccomp filter on this architecture: %v", err)
	}
	if len(f) < 2*len(denied) || f[len(f)-1].Code != unix.BPF_RET|unix.BPF_K || f[len(f)-1].K != unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM) {
		t.Errorf("Filter() has %d instructions ending in %+v, want a deny list ending with the clone check's EPERM", len(f), f[len(f)-1])
	}
	for _, nr := range []int{unix.SYS_PTRACE, unix.SYS_MOUNT, unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_BPF, unix.SYS_KEYCTL, unix.SYS_USERFAULTFD, unix.SYS_PERF_EVENT_OPEN} {
		found := false
		for _, d := range denied {
			found = found || d == nr
		}
		if !found {
			t.Errorf("syscall %d is not in the deny list", nr)
		}
	}
}
