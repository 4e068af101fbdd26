package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/confine"
	"github.com/toolwarden/toolwarden/sandbox/plugin/wire"
)

// egressSocketName is the proxy's socket in the go-plugin socket directory.
const egressSocketName = "egress.sock"

// stderrTailBytes is how much of a process's recent stderr is kept to
// tell an out-of-memory death from another crash.
const stderrTailBytes = 4 << 10

// crashWait bounds how long a failed call waits for its process to exit
// before deciding how it failed.
const crashWait = 5 * time.Second

// Causes of a call's cancellation.
var (
	errTimedOut = errors.New("plugin: call reached its time limit")
)

// procSettings are what a process is launched with: everything that
// cannot change between calls, hence part of the pool key.
type procSettings struct {
	tenant      string
	env         []string // KEY=VALUE, sorted
	mounts      []confine.Mount
	memoryBytes int64
}

// proc is one isolated plugin process.
type proc struct {
	prog     *Program
	settings procSettings
	uid      int
	dir      string // per-process state directory on the host
	client   *goplugin.Client
	tool     *wire.Client
	run      atomic.Pointer[launched] // set by the go-plugin runner function
	proxy    *proxy
	stderr   *stderrCapture
	watch    watchdog // ends a call at its time limit

	calls    int           // completed calls; used by the pool only
	due      bool          // near MaxCallsPerProc and counted in pool.due; guarded by pool.mu
	lastUsed time.Time     // used by the pool only
	cpuAtPut time.Duration // CPU time when it last became idle; used by the pool only
}

// startProc launches a process for settings and checks it speaks protocol
// v1.
func startProc(ctx context.Context, prog *Program, s procSettings) (_ *proc, err error) {
	r := prog.runner
	if err := prog.bin.check(); err != nil {
		return nil, err
	}
	uid, err := r.uids.get()
	if err != nil {
		return nil, &sandbox.Error{Code: sandbox.CodeLoad, Public: fmt.Sprintf("tool %q: no plugin uid is free", prog.tool), Err: err}
	}
	p := &proc{prog: prog, settings: s, uid: uid, stderr: &stderrCapture{}}
	defer func() {
		if err != nil {
			p.kill()
			p.close(0)
		}
	}()
	if p.dir, err = os.MkdirTemp(r.stateDir, "p"); err != nil {
		return nil, fmt.Errorf("plugin: state directory: %w", err)
	}
	root := filepath.Join(p.dir, "root")
	if err = os.Mkdir(root, 0o700); err != nil {
		return nil, fmt.Errorf("plugin: state directory: %w", err)
	}
	startTimeout := r.cfg.StartTimeout
	if dl, ok := ctx.Deadline(); ok {
		startTimeout = min(startTimeout, time.Until(dl))
	}
	if startTimeout <= 0 {
		return nil, ctx.Err()
	}
	p.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.ClientSet(),
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, socketDir string) (runner.Runner, error) {
			return p.launcher(cmd, socketDir, root)
		},
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		UnixSocketConfig: &goplugin.UnixSocketConfig{TempDir: p.dir},
		StartTimeout:     startTimeout,
		Logger:           hclog.NewNullLogger(),
		Stderr:           p.stderr,
		SyncStderr:       p.stderr,
		SyncStdout:       io.Discard,
	})
	stop := context.AfterFunc(ctx, p.kill)
	cp, err := p.client.Client()
	stop()
	if err != nil {
		return nil, p.startError(ctx, err)
	}
	raw, err := cp.Dispense(wire.PluginName)
	if err != nil {
		return nil, p.startError(ctx, err)
	}
	p.tool = raw.(*wire.Client)
	dctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	desc, err := p.tool.Describe(dctx)
	if err != nil {
		return nil, p.startError(ctx, fmt.Errorf("Describe: %w", err))
	}
	if err := checkDescription(desc); err != nil {
		return nil, &sandbox.Error{Code: sandbox.CodeLoad, Public: fmt.Sprintf("tool %q: %s", prog.tool, err.Error()), Err: err}
	}
	return p, nil
}

// startError codes a failed start.
func (p *proc) startError(ctx context.Context, err error) error {
	if le, ok := errors.AsType[*confine.Error](err); ok {
		return &sandbox.Error{Code: sandbox.CodeLoad, Public: fmt.Sprintf("tool %q: the plugin sandbox could not be set up", p.prog.tool), Err: le}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("plugin: start %s: %w", p.prog.tool, errors.Join(ctx.Err(), err))
	}
	if p.waitExit(crashWait) && p.stderr.outOfMemory() {
		return &sandbox.Error{
			Code:   sandbox.CodeMemory,
			Public: fmt.Sprintf("the tool needs more than its memory limit of %d bytes to start", p.settings.memoryBytes),
			Err:    err,
		}
	}
	return &sandbox.Error{
		Code:   sandbox.CodeLoad,
		Public: fmt.Sprintf("tool %q: the plugin did not start", p.prog.tool),
		Err:    fmt.Errorf("%w (stderr: %q)", err, p.stderr.tailString()),
	}
}

// launcher is the go-plugin RunnerFunc: it prepares the isolated launch of
// the verified binary. cmd is go-plugin's template; only its environment
// is used, and only after SkipHostEnv left go-plugin's own variables in it.
func (p *proc) launcher(cmd *exec.Cmd, socketDir, root string) (runner.Runner, error) {
	r := p.prog.runner
	if err := os.Chown(socketDir, p.uid, p.uid); err != nil {
		return nil, fmt.Errorf("plugin: socket directory: %w", err)
	}
	if err := os.Chmod(socketDir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin: socket directory: %w", err)
	}
	sock := filepath.Join(socketDir, egressSocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("plugin: egress proxy: %w", err)
	}
	if err := os.Chown(sock, p.uid, p.uid); err != nil {
		ln.Close()
		return nil, fmt.Errorf("plugin: egress proxy: %w", err)
	}
	p.proxy = newProxy(ln, r.cfg.Egress)

	env := make([]string, 0, len(cmd.Env)+len(p.settings.env)+1)
	for _, kv := range cmd.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k == goplugin.EnvUnixSocketDir {
			kv = k + "=" + confine.SocketDir
		}
		env = append(env, kv)
	}
	env = append(env, abi.EgressSocketEnv+"="+confine.SocketDir+"/"+egressSocketName)
	env = append(env, p.settings.env...)
	spec := confine.Spec{
		Argv0:           p.prog.bin.argv0(),
		Env:             env,
		Root:            root,
		SocketDir:       socketDir,
		Libraries:       r.cfg.Libraries,
		Loaders:         r.cfg.Loaders,
		Mounts:          p.settings.mounts,
		TmpBytes:        r.cfg.TmpBytes,
		UID:             p.uid,
		GID:             p.uid,
		Hostname:        "toolwarden-plugin",
		RequireLandlock: !r.cfg.AllowWithoutLandlock,
		Rlimits: confine.Rlimits{
			AddressSpaceBytes: p.settings.memoryBytes + r.cfg.AddressSpaceSlackBytes,
			DataBytes:         p.settings.memoryBytes,
			CPUSeconds:        int64(math.Ceil(r.cfg.CPUTimePerProc.Seconds())),
			Processes:         r.cfg.MaxThreads,
			OpenFiles:         r.cfg.MaxOpenFiles,
			FileBytes:         r.cfg.MaxFileBytes,
		},
	}
	lp, err := confine.Command(spec, p.prog.bin.exe)
	if err != nil {
		return nil, err
	}
	run := &launched{
		tool:      p.prog.tool,
		lp:        lp,
		exe:       p.prog.bin.exe,
		socketDir: socketDir,
		uid:       p.uid,
		done:      make(chan struct{}),
		sockFD:    -1,
	}
	if run.stdout, err = lp.Cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if run.stderr, err = lp.Cmd.StderrPipe(); err != nil {
		return nil, err
	}
	p.run.Store(run)
	return run, nil
}

// checkDescription checks Describe's reply.
func checkDescription(desc []byte) error {
	var d struct {
		Protocol int `json:"protocol"`
		ABI      int `json:"abi"`
	}
	if err := strictjson.Unmarshal(desc, &d, strictjson.Limits{MaxBytes: len(desc)}); err != nil {
		return fmt.Errorf("the plugin's Describe reply is not valid: %w", err)
	}
	if d.Protocol != wire.ProtocolVersion || d.ABI != 1 {
		return fmt.Errorf("the plugin speaks protocol %d, ABI %d; the broker speaks protocol %d, ABI 1", d.Protocol, d.ABI, wire.ProtocolVersion)
	}
	return nil
}

// invoke makes one call. keep reports whether the process may serve
// another call: only after a success or a tool-reported error.
func (p *proc) invoke(ctx context.Context, inv sandbox.Invocation) (res *sandbox.Result, err error, keep bool) {
	lim := inv.Limits
	buf := &stderrBuf{limit: lim.MaxStderrBytes}
	p.stderr.attach(buf)
	// The call's context carries no deadline: a deadline would travel to
	// the plugin as a grpc-timeout header and cost a timer on each side
	// of every call. It derives from the program's, so Close cancels it;
	// the timeout and the caller's cancellation cancel it from here.
	callCtx, cancelCause := context.WithCancelCause(p.prog.closing)
	defer cancelCause(nil)
	wc := p.watch.start(lim.Timeout, func() { cancelCause(errTimedOut) })
	defer p.watch.stop(wc)
	stopOnCaller := context.AfterFunc(ctx, func() { cancelCause(context.Cause(ctx)) })
	defer stopOnCaller()
	p.proxy.begin(callCtx, inv.Egress)
	maxReply := int(min(lim.OutputBytes, math.MaxInt32))
	began := time.Now()
	out, callErr := p.tool.Invoke(callCtx, inv.Args, maxReply)
	dur := time.Since(began)
	res = &sandbox.Result{Duration: dur}
	finish := func() {
		res.Egress = p.proxy.end()
		p.stderr.detach()
		res.Stderr, res.StderrTruncated = buf.bytes()
	}
	if callErr == nil {
		finish()
		env, perr := abi.ParseEnvelope(out)
		switch {
		case perr != nil:
			return res, &sandbox.Error{Code: sandbox.CodeBadOutput, Public: "the tool's reply is not one {\"result\"} or {\"error\"} object", Err: perr}, false
		case env.IsError:
			return res, &sandbox.Error{Code: sandbox.CodeToolError, Public: abi.PublicMessage(env.Error)}, true
		}
		res.Output = env.Result
		return res, nil, true
	}
	switch {
	case p.prog.isClosing():
		p.kill()
		finish()
		return res, p.prog.closedError(), false
	case errors.Is(context.Cause(callCtx), errTimedOut):
		p.kill()
		finish()
		return res, &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool ran past its time limit", Err: callErr}, false
	case ctx.Err() != nil:
		p.kill()
		finish()
		return res, fmt.Errorf("plugin: run %s: %w", p.prog.tool, errors.Join(ctx.Err(), callErr)), false
	}
	if st, ok := status.FromError(callErr); ok && st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "larger than max") {
		p.kill()
		finish()
		return res, &sandbox.Error{
			Code:   sandbox.CodeOutputTooLarge,
			Public: fmt.Sprintf("the tool wrote more than %d bytes of output", lim.OutputBytes),
			Err:    &sandbox.OutputLimitError{Limit: lim.OutputBytes},
		}, false
	}
	exited := p.waitExit(crashWait)
	if !exited {
		p.kill()
		p.waitExit(crashWait)
	}
	finish()
	return res, p.crashError(exited, callErr), false
}

// crashError codes a call whose process failed under it.
func (p *proc) crashError(exited bool, callErr error) error {
	if !exited {
		return &sandbox.Error{Code: sandbox.CodeBadOutput, Public: "the plugin answered with a protocol error", Err: callErr}
	}
	state := p.run.Load().state
	detail := fmt.Errorf("%w (exit: %v, stderr: %q)", callErr, state, p.stderr.tailString())
	if p.stderr.outOfMemory() {
		return &sandbox.Error{
			Code:   sandbox.CodeMemory,
			Public: fmt.Sprintf("the tool needed more than its memory limit of %d bytes", p.settings.memoryBytes),
			Err:    detail,
		}
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGXCPU || ws.Signal() == syscall.SIGKILL) {
		if cpu := state.UserTime() + state.SystemTime(); cpu >= p.prog.runner.cfg.CPUTimePerProc-time.Second/2 {
			return &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool ran past its CPU time limit", Err: detail}
		}
	}
	return &sandbox.Error{Code: sandbox.CodeCrashed, Public: "the tool's process crashed during the call", Err: detail}
}

// cpuTime returns the CPU time the process has used, all threads.
func (p *proc) cpuTime() (time.Duration, error) {
	run := p.run.Load()
	if run == nil {
		return 0, errors.New("plugin: the process has not started")
	}
	var ts unix.Timespec
	// The CPU clock of process pid: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
	clock := int32(^run.pid()<<3 | 2)
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, fmt.Errorf("read the plugin's CPU time: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// alive reports whether the process is still running.
func (p *proc) alive() bool {
	select {
	case <-p.run.Load().done:
		return false
	default:
		return !p.client.Exited()
	}
}

// ping checks the process answers go-plugin's health service.
func (p *proc) ping() bool {
	if !p.alive() {
		return false
	}
	cp, err := p.client.Client()
	return err == nil && cp.Ping() == nil
}

// waitExit waits up to d for the process to exit and its output to be
// drained, and reports whether it did.
func (p *proc) waitExit(d time.Duration) bool {
	run := p.run.Load()
	if run == nil {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-run.done:
		return true
	case <-t.C:
		return false
	}
}

// kill ends the process and everything in its PID namespace at once.
func (p *proc) kill() {
	if run := p.run.Load(); run != nil {
		run.lp.Kill()
	}
}

// close stops the process: go-plugin's graceful shutdown, then SIGKILL
// after grace, then removes its sockets and directories and frees its uid.
func (p *proc) close(grace time.Duration) {
	p.watch.close()
	if p.client != nil {
		t := time.AfterFunc(grace, p.kill)
		p.client.Kill()
		t.Stop()
	}
	if run := p.run.Load(); run != nil {
		run.closeSocket()
	}
	if p.proxy != nil {
		p.proxy.close()
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
	p.prog.runner.uids.put(p.uid)
}

// watchdog ends a process's calls at their time limits with one timer that
// lives as long as the process: a call only records its deadline, and the
// timer, armed for the earliest deadline it knows, re-arms itself for a
// later call's when it fires early. Back-to-back calls with the same limit
// then cost no timer operation (starting and stopping a timer per call
// wakes the runtime's poller thread each time).
type watchdog struct {
	mu      sync.Mutex // guards following
	t       *time.Timer
	armedAt time.Time // the deadline t is set for; zero when not armed
	cur     *watchedCall
	closed  bool
}

// watchedCall is a call the watchdog watches.
type watchedCall struct {
	deadline time.Time
	expire   func()
}

// start watches a call that must end within d; expire runs (once, on the
// timer's goroutine) if it has not been stopped by then.
func (w *watchdog) start(d time.Duration, expire func()) *watchedCall {
	c := &watchedCall{deadline: time.Now().Add(d), expire: expire}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return c
	}
	w.cur = c
	if w.armedAt.IsZero() || c.deadline.Before(w.armedAt) {
		w.armedAt = c.deadline
		if w.t == nil {
			w.t = time.AfterFunc(d, w.fire)
		} else {
			w.t.Reset(d)
		}
	}
	return c
}

// stop ends the watch of c.
func (w *watchdog) stop(c *watchedCall) {
	w.mu.Lock()
	if w.cur == c {
		w.cur = nil
	}
	w.mu.Unlock()
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.armedAt = time.Time{}
	var expire func()
	if c := w.cur; c != nil && !w.closed {
		if d := time.Until(c.deadline); d > 0 {
			w.armedAt = c.deadline
			w.t.Reset(d)
		} else {
			expire, w.cur = c.expire, nil
		}
	}
	w.mu.Unlock()
	if expire != nil {
		expire()
	}
}

// close stops the timer for good.
func (w *watchdog) close() {
	w.mu.Lock()
	w.closed, w.cur = true, nil
	if w.t != nil {
		w.t.Stop()
	}
	w.mu.Unlock()
}

// launched is the go-plugin runner of one isolated launch.
type launched struct {
	tool      string
	lp        *confine.Process
	exe       *os.File
	socketDir string
	uid       int
	stdout    io.ReadCloser
	stderr    io.ReadCloser
	done      chan struct{}

	waitOnce sync.Once
	state    *os.ProcessState // set before done is closed
	waitErr  error

	mu     sync.Mutex // guards following
	sockFD int        // O_PATH descriptor of the plugin's socket, -1 if none
}

var _ runner.Runner = (*launched)(nil)

func (l *launched) Start(ctx context.Context) error {
	if err := l.lp.Start(ctx, l.exe); err != nil {
		if l.lp.Started() {
			l.lp.Kill()
			_ = l.Wait(context.Background())
		}
		return err
	}
	return nil
}

func (l *launched) pid() int { return l.lp.Cmd.Process.Pid }

func (l *launched) Wait(context.Context) error {
	l.waitOnce.Do(func() {
		l.waitErr = l.lp.Cmd.Wait()
		l.state = l.lp.Cmd.ProcessState
		close(l.done)
	})
	<-l.done
	return l.waitErr
}

func (l *launched) Kill(context.Context) error {
	l.lp.Kill()
	return nil
}

func (l *launched) Diagnose(context.Context) string { return "" }
func (l *launched) Stdout() io.ReadCloser           { return l.stdout }
func (l *launched) Stderr() io.ReadCloser           { return l.stderr }
func (l *launched) Name() string                    { return l.tool }

func (l *launched) ID() string {
	if !l.lp.Started() {
		return ""
	}
	return strconv.Itoa(l.lp.Cmd.Process.Pid)
}

// PluginToHost accepts only a socket the plugin created directly in its
// socket directory, and returns a path through an O_PATH descriptor of
// that very socket: the plugin cannot point the broker at another socket,
// by name or by a symbolic link swapped in later.
func (l *launched) PluginToHost(network, addr string) (string, string, error) {
	if network != "unix" || filepath.Dir(addr) != confine.SocketDir {
		return "", "", fmt.Errorf("plugin: the plugin announced %s %q, outside its socket directory", network, addr)
	}
	name := filepath.Base(addr)
	if name == egressSocketName || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", "", fmt.Errorf("plugin: the plugin announced socket %q", addr)
	}
	fd, err := unix.Open(filepath.Join(l.socketDir, name), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", "", fmt.Errorf("plugin: open the plugin's socket: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK || int(st.Uid) != l.uid {
		unix.Close(fd)
		return "", "", fmt.Errorf("plugin: %q is not a socket the plugin created", addr)
	}
	l.mu.Lock()
	if l.sockFD >= 0 {
		unix.Close(l.sockFD)
	}
	l.sockFD = fd
	l.mu.Unlock()
	return "unix", "/proc/self/fd/" + strconv.Itoa(fd), nil
}

// HostToPlugin refuses: the broker never hands the plugin an address (no
// go-plugin broker connections).
func (l *launched) HostToPlugin(network, addr string) (string, string, error) {
	return "", "", errors.New("plugin: the broker offers the plugin no connections")
}

func (l *launched) closeSocket() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sockFD >= 0 {
		unix.Close(l.sockFD)
		l.sockFD = -1
	}
}

// stderrCapture receives a process's stderr (raw and through go-plugin's
// stdio stream) and hands it to the call in progress, if any.
type stderrCapture struct {
	mu   sync.Mutex // guards following
	cur  *stderrBuf
	tail []byte
	oom  bool
}

func (c *stderrCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		c.cur.write(p)
	}
	if bytes.Contains(p, []byte("out of memory")) || bytes.Contains(p, []byte("Cannot allocate memory")) {
		c.oom = true
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > stderrTailBytes {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-stderrTailBytes:]...)
	}
	return len(p), nil
}

func (c *stderrCapture) attach(b *stderrBuf) {
	c.mu.Lock()
	c.cur = b
	c.mu.Unlock()
}

func (c *stderrCapture) detach() { c.attach(nil) }

// outOfMemory reports whether the Go runtime (or libc) said it ran out of
// memory. The plugin controls its stderr, so this only decides between
// two failure codes for its own call.
func (c *stderrCapture) outOfMemory() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oom
}

func (c *stderrCapture) tailString() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.tail)
}

// stderrBuf keeps the first limit bytes of one call's stderr.
type stderrBuf struct {
	limit     int64
	mu        sync.Mutex // guards following
	buf       bytes.Buffer
	truncated bool
}

func (b *stderrBuf) write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - int64(b.buf.Len())
	if int64(len(p)) > room {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return
	}
	b.buf.Write(p)
}

func (b *stderrBuf) bytes() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes()), b.truncated
}
