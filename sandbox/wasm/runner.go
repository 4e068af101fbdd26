package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// maxModuleBytes caps the size of a module file Prepare reads.
const maxModuleBytes = 512 << 20

// Config configures a [Runner].
type Config struct {
	// CacheDir is the directory of the on-disk compilation cache, created
	// (mode 0700) if missing. It holds native code the broker executes, so
	// it must be writable by the broker's user only: New refuses a
	// directory that group or others can write. "" keeps compiled code in
	// memory only, so every process start compiles every module again.
	CacheDir string
	// Logger receives load-time messages (one per prepared module) and a
	// debug line per failed call. nil discards them.
	Logger *slog.Logger
	// Egress configures the egress client of every call that uses
	// toolwarden.http_request_v1: resolver, TLS and per-call caps. Its
	// Allow field is ignored (a call's grant is its Invocation.Egress);
	// zero fields take package egress's defaults, a nil Resolver is
	// net.DefaultResolver. A negative cap is an error.
	Egress egress.Config
}

// Runner runs WebAssembly tools (WASI preview1 command modules) under
// wazero's compiler engine.
//
// # Notes
//
// A Runner is safe for concurrent use. One wazero runtime serves every
// module and every memory limit: the limit is enforced per call by a
// memory allocator installed in the call's context, not by the runtime's
// page limit, so a module is compiled exactly once whatever limits its
// callers have. Close closes every [Program] the Runner prepared.
type Runner struct {
	logger  *slog.Logger
	egress  egress.Config
	cache   wazero.CompilationCache
	rt      wazero.Runtime
	imports map[string]map[string]api.FunctionDefinition // module → name → what imports may name

	mu       sync.Mutex // guards following
	closed   bool
	programs map[*Program]struct{}
}

var _ sandbox.Runner = (*Runner)(nil)

// New starts a wazero runtime with the compiler engine, the compilation
// cache of cfg, the WASI preview1 host functions and the toolwarden host
// module.
func New(cfg Config) (*Runner, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	eg := cfg.Egress
	eg.Allow = &egress.Allowlist{}
	if _, err := egress.New(eg); err != nil {
		return nil, fmt.Errorf("wasm: Config.Egress: %w", err)
	}
	if eg.TLSConfig != nil {
		eg.TLSConfig = eg.TLSConfig.Clone()
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir == "" {
		cache = wazero.NewCompilationCache()
	} else {
		if err := checkCacheDir(cfg.CacheDir); err != nil {
			return nil, err
		}
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm: Config.CacheDir: %w", err)
		}
	}
	ctx := context.Background()
	rtc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true).
		WithCompilationCache(cache).
		WithDebugInfoEnabled(false) // traps name functions; DWARF would cost compile time and memory
	rt := wazero.NewRuntimeWithConfig(ctx, rtc)
	// The listener records the paths WASI refuses before any file system
	// sees them (see pathListeners).
	wasiCtx := experimental.WithFunctionListenerFactory(ctx, pathListeners{})
	if _, err := wasi_snapshot_preview1.Instantiate(wasiCtx, rt); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiate WASI: %w", err)
	}
	if err := instantiateHost(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiate the %s host module: %w", abi.HostModule, err)
	}
	return &Runner{
		logger: logger,
		egress: eg,
		cache:  cache,
		rt:     rt,
		imports: map[string]map[string]api.FunctionDefinition{
			wasi_snapshot_preview1.ModuleName: rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions(),
			abi.HostModule:                    rt.Module(abi.HostModule).ExportedFunctionDefinitions(),
		},
		programs: map[*Program]struct{}{},
	}, nil
}

// checkCacheDir refuses an existing cache directory that others can write.
func checkCacheDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // wazero creates it with mode 0700
	}
	if err != nil {
		return fmt.Errorf("wasm: Config.CacheDir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("wasm: Config.CacheDir %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("wasm: Config.CacheDir %s is writable by group or others (mode %v); it holds executable code", dir, fi.Mode().Perm())
	}
	return nil
}

// Kind returns "wasm".
func (r *Runner) Kind() string { return "wasm" }

// Prepare reads the module at spec.Path once, checks its SHA-256 against
// spec.SHA256 on exactly the bytes it compiles, compiles it (or loads it
// from the compilation cache) and checks that it is a WASI preview1 command
// this runner can link: an exported _start and function imports from
// wasi_snapshot_preview1 and the toolwarden host module only, with the
// signatures this runner provides.
//
// A digest mismatch is a [*sandbox.Error] with code
// [sandbox.CodeDigestMismatch]; any other failure to read, compile or link
// has code [sandbox.CodeLoad].
func (r *Runner) Prepare(ctx context.Context, spec sandbox.Spec) (sandbox.Program, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, &sandbox.Error{Code: sandbox.CodeClosed, Public: "the wasm runner is closed"}
	}
	loadErr := func(public string, err error) error {
		return &sandbox.Error{Code: sandbox.CodeLoad, Public: fmt.Sprintf("tool %q: %s", spec.Tool, public), Err: err}
	}
	want, err := hex.DecodeString(spec.SHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, loadErr("the module has no valid sha256 pin", fmt.Errorf("Spec.SHA256 %q is not 64 hex digits", spec.SHA256))
	}
	bin, err := readModule(spec.Path)
	if err != nil {
		return nil, loadErr("cannot read the module", err)
	}
	if got := sha256.Sum256(bin); !slices.Equal(got[:], want) {
		return nil, &sandbox.Error{
			Code:   sandbox.CodeDigestMismatch,
			Public: fmt.Sprintf("tool %q: the module does not match its sha256 pin", spec.Tool),
			Err:    fmt.Errorf("%s has sha256 %x, pinned %s", spec.Path, got, spec.SHA256),
		}
	}
	start := time.Now()
	cctx := experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0))
	compiled, err := r.rt.CompileModule(cctx, bin)
	if err != nil {
		return nil, loadErr("the module does not compile", fmt.Errorf("compile %s: %w", spec.Path, err))
	}
	layout, err := r.check(compiled, bin)
	if err != nil {
		_ = compiled.Close(ctx)
		return nil, loadErr(err.Error(), fmt.Errorf("check %s: %w", spec.Path, err))
	}
	p := newProgram(r, spec.Tool, compiled, layout)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = compiled.Close(ctx)
		return nil, &sandbox.Error{Code: sandbox.CodeClosed, Public: "the wasm runner is closed"}
	}
	r.programs[p] = struct{}{}
	r.mu.Unlock()
	r.logger.Info("prepared wasm module", "tool", spec.Tool, "path", spec.Path,
		"bytes", len(bin), "min_memory_bytes", int64(layout.minPages)*pageBytes, "compile", time.Since(start))
	return p, nil
}

// readModule reads at most maxModuleBytes of path.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bin, err := io.ReadAll(io.LimitReader(f, maxModuleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(bin) > maxModuleBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxModuleBytes)
	}
	return bin, nil
}

// check verifies that compiled is a command this runner can instantiate:
// its error text is safe to show.
func (r *Runner) check(compiled wazero.CompiledModule, bin []byte) (moduleLayout, error) {
	start, ok := compiled.ExportedFunctions()["_start"]
	if !ok || len(start.ParamTypes()) != 0 || len(start.ResultTypes()) != 0 {
		return moduleLayout{}, errors.New("the module is not a WASI command (no _start function)")
	}
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		host, ok := r.imports[mod][name]
		if !ok {
			return moduleLayout{}, fmt.Errorf("the module imports %s.%s, which the wasm sandbox does not provide", mod, name)
		}
		if !slices.Equal(f.ParamTypes(), host.ParamTypes()) || !slices.Equal(f.ResultTypes(), host.ResultTypes()) {
			return moduleLayout{}, fmt.Errorf("the module imports %s.%s with the wrong signature", mod, name)
		}
	}
	layout, err := parseLayout(bin)
	if err != nil {
		return moduleLayout{}, fmt.Errorf("the module is malformed: %w", err)
	}
	if layout.badImport != "" {
		return moduleLayout{}, fmt.Errorf("the module imports %s, which the wasm sandbox does not provide", layout.badImport)
	}
	return layout, nil
}

// forget drops a closed program.
func (r *Runner) forget(p *Program) {
	r.mu.Lock()
	delete(r.programs, p)
	r.mu.Unlock()
}

// Close closes every Program the Runner prepared (cancelling their calls and
// waiting for them), then the runtime and the compilation cache. Calling it
// twice is safe.
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
	var errs []error
	for _, p := range programs {
		errs = append(errs, p.Close(ctx))
	}
	if err := r.rt.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("wasm: close runtime: %w", err))
	}
	if err := r.cache.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("wasm: close compilation cache: %w", err))
	}
	return errors.Join(errs...)
}
