package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/confine"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// Defaults for the zero fields of [Config].
const (
	DefaultMinProcs               = 1
	DefaultMaxProcs               = 4
	DefaultMaxCallsPerProc        = 1000
	DefaultIdleTimeout            = 5 * time.Minute
	DefaultHealthInterval         = 30 * time.Second
	DefaultStartTimeout           = 10 * time.Second
	DefaultCPUTimePerProc         = 5 * time.Minute
	DefaultIdleCPU                = time.Second
	DefaultGracePeriod            = 2 * time.Second
	DefaultTmpBytes               = 64 << 20
	DefaultMaxThreads             = 128
	DefaultMaxOpenFiles           = 256
	DefaultMaxFileBytes           = 64 << 20
	DefaultAddressSpaceSlackBytes = 4 << 30
	DefaultMaxBinaryBytes         = 512 << 20
	DefaultUIDBase                = 1_500_000_000
	DefaultUIDCount               = 65536
)

// DefaultLibraries are the paths a plugin may read and execute when
// Config.Libraries is nil: the dynamic loader and the system libraries of
// a Debian- or Fedora-style system. Paths that do not exist are skipped.
var DefaultLibraries = []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"}

// DefaultLoaders are the dynamic loaders a plugin may execute when
// Config.Loaders is nil. Paths that do not exist are skipped.
var DefaultLoaders = []string{"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"}

// Config configures a [Runner]. Every limit applies per plugin process.
type Config struct {
	// StateDir is where per-process directories (the go-plugin socket
	// directory, the launcher's mount point) are made; it is created with
	// mode 0711 and removed by Close. "" means a new directory under
	// os.TempDir(). Keep it short: Unix socket paths are limited to 107
	// bytes.
	StateDir string
	// Libraries are the files and directories every plugin may read
	// (bind-mounted read-only into its root), for dynamically linked
	// plugins. Nil means [DefaultLibraries]; an empty non-nil slice means
	// none (static binaries only).
	Libraries []string
	// Loaders are the files beneath Libraries a plugin may also execute:
	// the dynamic loader the kernel runs for a dynamically linked binary.
	// Nothing else in the sandbox is executable. Nil means
	// [DefaultLoaders].
	Loaders []string
	// MinProcs is how many warm processes each active (tool, tenant, limits)
	// pool keeps. Zero means [DefaultMinProcs].
	MinProcs int
	// MaxProcs caps the processes of one pool; calls beyond it wait for a
	// free process. Zero means [DefaultMaxProcs].
	MaxProcs int
	// MaxCallsPerProc retires a process after that many calls. Zero means
	// [DefaultMaxCallsPerProc].
	MaxCallsPerProc int
	// IdleTimeout stops processes unused for that long, MinProcs
	// included, and forgets empty pools. Zero means [DefaultIdleTimeout].
	IdleTimeout time.Duration
	// HealthInterval is how often idle processes are health-checked (and
	// dead or idle ones replaced or stopped). Zero means
	// [DefaultHealthInterval].
	HealthInterval time.Duration
	// StartTimeout bounds a process start, handshake included. Zero means
	// [DefaultStartTimeout].
	StartTimeout time.Duration
	// CPUTimePerProc is RLIMIT_CPU: the CPU time one process may use over
	// its whole life (past it the kernel kills it, and a call then fails
	// with sandbox.timeout). A call is only given a process with at least
	// its Limits.Timeout of CPU time left; otherwise the process is retired
	// and a fresh one started. Zero means [DefaultCPUTimePerProc].
	//
	// It is per process, not per call, because setting another process's
	// rlimits needs CAP_SYS_RESOURCE, which a broker may not have.
	CPUTimePerProc time.Duration
	// IdleCPU is how much CPU time an idle process may use between two
	// calls; one that used more (work left running after its call) is
	// stopped instead of serving the next call. A process idle for less
	// than IdleCPU/MaxThreads cannot have used more, so its CPU clock is
	// not read. Zero means [DefaultIdleCPU].
	IdleCPU time.Duration
	// GracePeriod is how long a stopping process gets to exit after
	// go-plugin's graceful shutdown before it is killed. Zero means
	// [DefaultGracePeriod].
	GracePeriod time.Duration
	// TmpBytes is the size of each process's private tmpfs /tmp. Zero
	// means [DefaultTmpBytes].
	TmpBytes int64
	// MaxThreads is RLIMIT_NPROC: threads and processes of the plugin's
	// own uid. Zero means [DefaultMaxThreads].
	MaxThreads int64
	// MaxOpenFiles is RLIMIT_NOFILE. Zero means [DefaultMaxOpenFiles].
	MaxOpenFiles int64
	// MaxFileBytes is RLIMIT_FSIZE, the largest file the plugin may write.
	// Zero means [DefaultMaxFileBytes].
	MaxFileBytes int64
	// AddressSpaceSlackBytes is added to Limits.MemoryBytes for RLIMIT_AS:
	// the Go runtime reserves far more address space than it uses, so the
	// memory limit itself is RLIMIT_DATA. Zero means
	// [DefaultAddressSpaceSlackBytes].
	AddressSpaceSlackBytes int64
	// MaxBinaryBytes caps the size of a plugin binary. Zero means
	// [DefaultMaxBinaryBytes].
	MaxBinaryBytes int64
	// UIDBase and UIDCount give the range of unprivileged uids (and equal
	// gids) plugin processes run as, one per live process, so RLIMIT_NPROC
	// counts one process's threads. Zero means [DefaultUIDBase] and
	// [DefaultUIDCount]; the range must not hold real users.
	UIDBase  int
	UIDCount int
	// Egress configures the egress client of every call (resolver, TLS,
	// caps); its Allow field is ignored: a call's grant is its
	// Invocation.Egress.
	Egress egress.Config
	// AllowWithoutLandlock lets plugins start on a kernel without landlock,
	// confined by namespaces, their minimal root and seccomp only. False
	// (the default) makes New fail on such a kernel.
	AllowWithoutLandlock bool
	// Logger receives process starts, stops and failures. Nil discards.
	Logger *slog.Logger
}

// Runner runs go-plugin tools in isolated, pooled processes.
//
// # Notes
//
// A Runner is safe for concurrent use. Close closes every [Program] it
// prepared: every process gets a graceful shutdown and is killed after
// Config.GracePeriod, and every socket and directory is removed.
type Runner struct {
	cfg      Config
	logger   *slog.Logger
	stateDir string
	ownDir   bool
	uids     *uidPool

	mu       sync.Mutex // guards following
	closed   bool
	programs map[*Program]struct{}
}

var _ sandbox.Runner = (*Runner)(nil)

// New checks that this process can launch isolated plugins (Linux, root,
// amd64 or arm64, landlock unless allowed otherwise) and returns a Runner.
func New(cfg Config) (*Runner, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := Available(cfg.AllowWithoutLandlock); err != nil {
		return nil, err
	}
	if _, err := confine.Filter(); err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, logger: logger, uids: newUIDPool(cfg.UIDBase, cfg.UIDCount), programs: map[*Program]struct{}{}}
	if cfg.StateDir == "" {
		sweepStateDirs(logger)
		dir, err := os.MkdirTemp("", stateDirPrefix)
		if err != nil {
			return nil, fmt.Errorf("plugin: state directory: %w", err)
		}
		if err := writeOwner(dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("plugin: state directory: %w", err)
		}
		r.stateDir, r.ownDir = dir, true
	} else {
		if err := os.MkdirAll(cfg.StateDir, 0o711); err != nil {
			return nil, fmt.Errorf("plugin: Config.StateDir: %w", err)
		}
		r.stateDir = cfg.StateDir
	}
	if err := os.Chmod(r.stateDir, 0o711); err != nil {
		return nil, fmt.Errorf("plugin: state directory: %w", err)
	}
	return r, nil
}

// Available reports why this process cannot launch isolated plugins, or
// nil if it can. Without landlock it is an error unless allowWithout.
func Available(allowWithout bool) error {
	if runtime.GOOS != "linux" {
		return errors.New("plugin: isolated plugins need Linux")
	}
	if os.Geteuid() != 0 {
		return errors.New("plugin: isolated plugins need the broker to run as root (namespaces, mounts and uid changes)")
	}
	if confine.ABI() < 1 && !allowWithout {
		return errors.New("plugin: landlock is unavailable on this kernel; set Config.AllowWithoutLandlock to run plugins without it")
	}
	return nil
}

// LandlockABI returns the kernel's landlock ABI version, 0 if unavailable.
func LandlockABI() int { return confine.ABI() }

func (c *Config) setDefaults() error {
	neg := func(name string, v int64) error {
		if v < 0 {
			return fmt.Errorf("plugin: Config.%s is negative", name)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MinProcs", int64(c.MinProcs)}, {"MaxProcs", int64(c.MaxProcs)}, {"MaxCallsPerProc", int64(c.MaxCallsPerProc)},
		{"IdleTimeout", int64(c.IdleTimeout)}, {"HealthInterval", int64(c.HealthInterval)},
		{"StartTimeout", int64(c.StartTimeout)}, {"CPUTimePerProc", int64(c.CPUTimePerProc)}, {"IdleCPU", int64(c.IdleCPU)}, {"GracePeriod", int64(c.GracePeriod)}, {"TmpBytes", c.TmpBytes},
		{"MaxThreads", c.MaxThreads}, {"MaxOpenFiles", c.MaxOpenFiles}, {"MaxFileBytes", c.MaxFileBytes},
		{"AddressSpaceSlackBytes", c.AddressSpaceSlackBytes}, {"MaxBinaryBytes", c.MaxBinaryBytes},
		{"UIDBase", int64(c.UIDBase)}, {"UIDCount", int64(c.UIDCount)},
	} {
		if err := neg(f.name, f.v); err != nil {
			return err
		}
	}
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt(&c.MinProcs, DefaultMinProcs)
	defInt(&c.MaxProcs, DefaultMaxProcs)
	defInt(&c.MaxCallsPerProc, DefaultMaxCallsPerProc)
	defDur(&c.IdleTimeout, DefaultIdleTimeout)
	defDur(&c.HealthInterval, DefaultHealthInterval)
	defDur(&c.StartTimeout, DefaultStartTimeout)
	defDur(&c.GracePeriod, DefaultGracePeriod)
	defDur(&c.CPUTimePerProc, DefaultCPUTimePerProc)
	defDur(&c.IdleCPU, DefaultIdleCPU)
	def(&c.TmpBytes, DefaultTmpBytes)
	def(&c.MaxThreads, DefaultMaxThreads)
	def(&c.MaxOpenFiles, DefaultMaxOpenFiles)
	def(&c.MaxFileBytes, DefaultMaxFileBytes)
	def(&c.AddressSpaceSlackBytes, DefaultAddressSpaceSlackBytes)
	def(&c.MaxBinaryBytes, DefaultMaxBinaryBytes)
	defInt(&c.UIDBase, DefaultUIDBase)
	defInt(&c.UIDCount, DefaultUIDCount)
	if c.MinProcs > c.MaxProcs {
		return fmt.Errorf("plugin: Config.MinProcs %d is more than Config.MaxProcs %d", c.MinProcs, c.MaxProcs)
	}
	if int64(c.UIDBase)+int64(c.UIDCount) > 1<<31 {
		return errors.New("plugin: Config.UIDBase+UIDCount is past the largest uid")
	}
	if c.Libraries == nil {
		c.Libraries = DefaultLibraries
	}
	if c.Loaders == nil {
		c.Loaders = DefaultLoaders
	}
	var err error
	if c.Libraries, err = cleanPaths("Libraries", c.Libraries); err != nil {
		return err
	}
	c.Loaders, err = cleanPaths("Loaders", c.Loaders)
	return err
}

// cleanPaths copies paths, refusing any that is not clean and absolute.
func cleanPaths(field string, paths []string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, l := range paths {
		if !filepath.IsAbs(l) || filepath.Clean(l) != l {
			return nil, fmt.Errorf("plugin: Config.%s entry %q is not a clean absolute path", field, l)
		}
		out = append(out, l)
	}
	return out, nil
}

// Kind returns "plugin".
func (r *Runner) Kind() string { return "plugin" }

// Prepare copies the binary at spec.Path into a sealed memfd, hashing
// exactly the bytes it copies, and checks them against spec.SHA256. No
// process starts until the first call. A digest mismatch is a
// [*sandbox.Error] with [sandbox.CodeDigestMismatch]; a file that cannot be
// read has [sandbox.CodeLoad].
func (r *Runner) Prepare(ctx context.Context, spec sandbox.Spec) (sandbox.Program, error) {
	if r.isClosed() {
		return nil, &sandbox.Error{Code: sandbox.CodeClosed, Public: "the plugin runner is closed"}
	}
	want, err := hex.DecodeString(spec.SHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, loadError(spec.Tool, "the plugin has no valid sha256 pin", fmt.Errorf("Spec.SHA256 %q is not 64 hex digits", spec.SHA256))
	}
	if !filepath.IsAbs(spec.Path) {
		return nil, loadError(spec.Tool, "the plugin path is not absolute", fmt.Errorf("Spec.Path %q", spec.Path))
	}
	bin, err := loadBinary(spec.Tool, spec.Path, [sha256.Size]byte(want), r.cfg.MaxBinaryBytes)
	if err != nil {
		return nil, err
	}
	p := newProgram(r, spec.Tool, bin)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = p.Close(ctx)
		return nil, &sandbox.Error{Code: sandbox.CodeClosed, Public: "the plugin runner is closed"}
	}
	r.programs[p] = struct{}{}
	r.mu.Unlock()
	r.logger.Info("prepared plugin", "tool", spec.Tool, "path", spec.Path)
	return p, nil
}

func (r *Runner) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Runner) forget(p *Program) {
	r.mu.Lock()
	delete(r.programs, p)
	r.mu.Unlock()
}

// Close closes every Program (stopping all their processes, gracefully
// then by force) and removes the state directory. Calling it twice is
// safe.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	programs := make([]*Program, 0, len(r.programs))
	for p := range r.programs {
		programs = append(programs, p)
	}
	r.mu.Unlock()
	errs := make([]error, len(programs))
	var wg sync.WaitGroup
	for i, p := range programs {
		wg.Go(func() { errs[i] = p.Close(ctx) })
	}
	wg.Wait()
	if r.ownDir {
		if err := os.RemoveAll(r.stateDir); err != nil {
			errs = append(errs, fmt.Errorf("plugin: remove state directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

// uidPool hands out the uids of live processes.
type uidPool struct {
	base, count int

	mu   sync.Mutex // guards following
	next int
	used map[int]bool
}

func newUIDPool(base, count int) *uidPool {
	return &uidPool{base: base, count: count, used: map[int]bool{}}
}

func (u *uidPool) get() (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for range u.count {
		id := u.base + u.next
		u.next = (u.next + 1) % u.count
		if !u.used[id] {
			u.used[id] = true
			return id, nil
		}
	}
	return 0, fmt.Errorf("all %d plugin uids are in use", u.count)
}

func (u *uidPool) put(id int) {
	u.mu.Lock()
	delete(u.used, id)
	u.mu.Unlock()
}
