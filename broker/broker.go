package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/redact"
	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/broker/screen"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
)

// recorder is what the broker needs of an audit log: an append that returns
// only once the record is durable.
type recorder interface {
	Append(ctx context.Context, r *audit.Record) error
}

// Defaults used where a Config field is zero.
const (
	DefaultMaxConcurrentPerTenant = 32
	DefaultMaxStderrBytes         = 64 << 10
)

// Config configures a [Broker].
type Config struct {
	// Policy decides every call: the manifest set, the default limits and
	// the argument caps. Required.
	Policy *policy.Policy
	// Runners run tools, one per runtime kind (Runner.Kind()). A tool whose
	// runtime has no runner is a load error. Required.
	Runners []sandbox.Runner
	// Audit receives one record per call, allowed or denied. Required.
	Audit recorder
	// MaxConcurrentPerTenant caps calls in flight per tenant; zero means 32.
	MaxConcurrentPerTenant int
	// KillSwitchFile, if set, names a file listing switched-off tools and
	// tenants, one per line: "all", "tool NAME" or "tenant NAME". It is
	// watched (every KillSwitchPoll) by a goroutine Close stops; a file
	// that cannot be read or parsed refuses every call. "" means no kill
	// switch file.
	KillSwitchFile string
	// Secrets supplies the values of secrets tools declare in
	// requires.secrets; nil means none are available (a tool still runs, with
	// the variable unset). The map is copied.
	Secrets map[string]string
	// Redactor replaces secrets in each audit record, once, just before it
	// is appended (see redact.Redactor.Record): arguments the tool's schema
	// marks sensitive or whose names say secret, and secret-looking text in
	// every field a client or tool controls. Nil means a redactor with a
	// random key made by New: its markers then correlate only within this
	// process, so pass one keyed from a file (audit.LoadHMACKey) to
	// correlate a secret across restarts.
	Redactor *redact.Redactor
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Broker runs tool calls through the pipeline. It is safe for concurrent use.
type Broker struct {
	policy   *policy.Policy
	set      *manifests.Set
	audit    recorder
	programs map[string]program // by tool name
	maxConc  int
	kill     *killSwitch
	secrets  map[string]string
	log      *slog.Logger
	now      func() time.Time
	rate     *limiter
	redactor *redact.Redactor
	flood    *floodGate

	stop chan struct{} // closed by Close: stops the refusal sweeper
	wg   sync.WaitGroup

	// withdrawn are the tools whose artifact failed its pin or its load
	// at New: not listed, and refused with the reason. Fixed after New.
	withdrawn map[string]*Error

	mu       sync.Mutex // guards following
	inflight map[string]int
	closed   bool
}

type program struct {
	sandbox.Program
	kind      string
	sensitive []string // the tool schema's sensitive argument pointers
}

// New validates cfg, computes every grant and prepares (digest-checks and
// compiles) every tool's artifact. Nothing is compiled on the call path.
func New(ctx context.Context, cfg Config) (*Broker, error) {
	switch {
	case cfg.Policy == nil:
		return nil, errors.New("broker: Config.Policy is nil")
	case cfg.Audit == nil:
		return nil, errors.New("broker: Config.Audit is nil")
	case len(cfg.Runners) == 0:
		return nil, errors.New("broker: Config.Runners is empty")
	case cfg.MaxConcurrentPerTenant < 0:
		return nil, errors.New("broker: Config.MaxConcurrentPerTenant is negative")
	}
	b := &Broker{
		set:       cfg.Policy.Set(),
		policy:    cfg.Policy,
		audit:     cfg.Audit,
		programs:  make(map[string]program),
		withdrawn: make(map[string]*Error),
		maxConc:   cmp(cfg.MaxConcurrentPerTenant, DefaultMaxConcurrentPerTenant),
		secrets:   maps.Clone(cfg.Secrets),
		log:       cfg.Logger,
		now:       cfg.Now,
		rate:      newLimiter(),
		flood:     newFloodGate(),
		stop:      make(chan struct{}),
		inflight:  make(map[string]int),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.redactor = cfg.Redactor
	if b.redactor == nil {
		b.redactor = redact.NewEphemeral()
	}
	runners := make(map[string]sandbox.Runner, len(cfg.Runners))
	for _, r := range cfg.Runners {
		if r == nil {
			return nil, errors.New("broker: Config.Runners holds a nil runner")
		}
		runners[r.Kind()] = r
	}
	names := make([]string, 0, len(b.set.Tools))
	for name := range b.set.Tools {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := b.set.Tools[name]
		kind := t.RuntimeKind()
		r, ok := runners[kind]
		if !ok {
			b.Close(ctx)
			return nil, fmt.Errorf("broker: tool %q needs runtime %q, which is not configured", name, kind)
		}
		prog, err := r.Prepare(ctx, sandbox.Spec{Tool: name, Path: t.ArtifactPath(), SHA256: t.ArtifactSHA256()})
		if err != nil {
			// One tool that fails its pin or its load is withdrawn, not
			// the broker: the others serve.
			if werr := b.withdraw(ctx, t, err); werr != nil {
				b.Close(ctx)
				return nil, werr
			}
			continue
		}
		b.programs[name] = program{Program: prog, kind: kind, sensitive: t.Schema().SensitivePointers()}
	}
	if cfg.KillSwitchFile != "" {
		b.kill = newKillSwitch(cfg.KillSwitchFile, b.log)
	}
	b.wg.Add(1)
	go b.sweepRefusals()
	return b, nil
}

// withdraw takes a tool whose artifact failed to prepare out of service:
// it is logged, audited (an EventWithdrawn record with the reason), not
// listed and refused with the reason. It returns an error only when the
// record cannot be written.
func (b *Broker) withdraw(ctx context.Context, t *manifests.Tool, cause error) error {
	e := fromSandbox(cause)
	if e.Code == CodeInternal {
		e.Code = sandbox.CodeLoad
	}
	w := &Error{Code: e.Code, Public: fmt.Sprintf("tool %q is withdrawn: its artifact failed its pin or its load when the broker started (%s)", t.Name, e.Code), Err: cause}
	b.withdrawn[t.Name] = w
	b.log.Error("tool withdrawn: its artifact failed its pin or its load; the other tools serve", "tool", t.Name, "reason", e.Code, "err", cause)
	rec := &audit.Record{
		Time:         b.now().UTC(),
		Event:        EventWithdrawn,
		Tool:         t.Name,
		ToolVersion:  t.Version,
		ToolDigest:   t.ArtifactSHA256(),
		ManifestHash: b.set.Hash,
		Decision:     audit.DecisionDeny,
		Reason:       e.Code,
		Error:        detail(cause),
	}
	if err := b.record(ctx, rec, nil, nil); err != nil {
		return fmt.Errorf("broker: record the withdrawal of tool %q: %w", t.Name, err)
	}
	return nil
}

// EventWithdrawn is the audit event of a tool withdrawn at start because
// its artifact failed its pin or its load.
const EventWithdrawn = "tool.withdrawn"

// sweepRefusals records the summaries of refusal floods whose window has
// ended, until Close.
func (b *Broker) sweepRefusals() {
	defer b.wg.Done()
	t := time.NewTicker(RefusalWindow / 6)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.flushRefusals(context.Background(), false)
		}
	}
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Close releases every prepared program. It is safe to call twice.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	if b.kill != nil {
		b.kill.close()
	}
	if b.stop != nil {
		close(b.stop)
		b.wg.Wait()
		b.flushRefusals(ctx, true)
	}
	var errs []error
	for name, p := range b.programs {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close tool %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// ManifestHash returns the version hash of the loaded manifest set.
func (b *Broker) ManifestHash() string { return b.set.Hash }

// ListTools returns the tools p's roles grant, sorted by name. A tool no role
// grants is not listed: a caller never sees what it cannot call.
func (b *Broker) ListTools(ctx context.Context, p auth.Principal) []ToolInfo {
	grants := b.policy.Visible(p.Roles)
	out := make([]ToolInfo, 0, len(grants))
	for _, g := range grants {
		t := g.Tool()
		if b.withdrawn[t.Name] != nil {
			continue
		}
		out = append(out, ToolInfo{
			Name:        t.Name,
			Description: t.Description,
			InputSchema: g.InputSchema(),
			Risk:        t.Risk,
		})
	}
	return out
}

// CallTool runs one call through the whole pipeline and returns its result,
// or a *[Error] with the reason it was refused or failed. Either way the call
// is in the audit log before CallTool returns; if it cannot be written, the
// error is audit.unavailable and no result is returned.
func (b *Broker) CallTool(ctx context.Context, c Call) (*Outcome, error) {
	start := b.now()
	rec := b.newRecord(c, start)
	var d policy.Decision
	out, stage := b.call(ctx, c, rec, &d)
	rec.Duration = b.now().Sub(start)
	if stage != nil {
		if rec.Decision == "" {
			rec.Decision = audit.DecisionDeny
		} else {
			rec.Outcome = audit.OutcomeError
		}
		rec.Reason = stage.Code
		rec.Error = stage.Error()
	}
	var sensitive []string
	if d.Tool != nil {
		sensitive = b.programs[d.Tool.Name].sensitive
	}
	var err error
	if rec.Decision == audit.DecisionDeny {
		// A denial is a refusal like any other: a flood of them is summed up.
		err = b.refusal(ctx, refusalKey{source(c.Principal, c.Meta), rec.Reason}, rec, d.Value, sensitive)
	} else {
		err = b.record(ctx, rec, d.Value, sensitive)
	}
	if err != nil {
		b.log.Error("audit append failed; refusing call", "tool", c.Tool, "tenant", c.Principal.Tenant, "err", err)
		return nil, &Error{Code: CodeAuditUnavailable, Public: "audit log unavailable; call refused", Err: err}
	}
	if stage != nil {
		return nil, stage
	}
	out.Seq = rec.Seq
	out.Duration = rec.Duration
	return out, nil
}

// record redacts rec, here and only here, and appends it. args is the
// call's decoded arguments and sensitive the tool schema's sensitive
// pointers, for the redaction of rec.Arguments. The record is written even
// when the caller has gone.
func (b *Broker) record(ctx context.Context, rec *audit.Record, args map[string]any, sensitive []string) error {
	var v any
	if args != nil {
		v = args
	}
	b.redactor.Record(rec, v, sensitive)
	return b.audit.Append(uncancelled(ctx), rec)
}

// uncancelled returns ctx without its cancellation: a call's record is
// written even when its caller has gone.
func uncancelled(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (b *Broker) newRecord(c Call, now time.Time) *audit.Record {
	p := c.Principal
	return &audit.Record{
		Time:          now.UTC(),
		Tenant:        p.Tenant,
		Subject:       p.Subject,
		Roles:         p.Roles,
		AuthKind:      p.Method,
		Audience:      p.Audience,
		KeyID:         p.KeyID,
		Session:       c.Meta.Session,
		RequestID:     c.Meta.RequestID,
		Transport:     c.Meta.Transport,
		RemoteAddr:    c.Meta.RemoteAddr,
		UserAgent:     c.Meta.UserAgent,
		Protocol:      c.Meta.Protocol,
		ClientName:    c.Meta.ClientName,
		ClientVersion: c.Meta.ClientVersion,
		Model:         c.Meta.Model,
		Tool:          c.Tool,
		ManifestHash:  b.set.Hash,
	}
}

// call runs the stages and fills rec. It returns the outcome or the error
// of the stage that stopped the call; rec.Decision is set to allow once the
// call is admitted, so the caller can tell a denial from a failed run.
func (b *Broker) call(ctx context.Context, c Call, rec *audit.Record, dp *policy.Decision) (*Outcome, *Error) {
	if c.Principal.Tenant == "" || c.Principal.Subject == "" {
		return nil, &Error{Code: CodeUnauthenticated, Public: "caller is not authenticated"}
	}
	// 1–2. Grant and arguments: deny by default; the arguments decoded
	// once, strictly; d.Args are the bytes the sandbox gets.
	d, err := b.policy.Decide(c.Principal.Roles, c.Tool, c.Args)
	*dp = d
	if d.Tool != nil {
		rec.ToolVersion = d.Tool.Version
		rec.ToolDigest = d.Tool.ArtifactSHA256()
		rec.ArgsSHA256 = sha256Hex(d.Args)
	}
	if d.Value != nil {
		rec.Arguments = d.Args // redacted in record, with d.Value
	}
	if err != nil {
		return nil, fromPolicy(err)
	}
	g := d.Grant
	tool := d.Tool
	rec.GrantedBy = g.Role()
	if w := b.withdrawn[tool.Name]; w != nil {
		return nil, w
	}

	// 3. Admission: kill switch, rate, concurrency, approval.
	if e := b.admit(c, g); e != nil {
		return nil, e
	}
	if e := b.acquire(c.Principal.Tenant); e != nil {
		return nil, e
	}
	defer b.release(c.Principal.Tenant)

	// 5. Run.
	rec.Decision = audit.DecisionAllow
	prog := b.programs[tool.Name]
	rec.Sandbox = prog.kind
	lim := g.Limits()
	inv := sandbox.Invocation{
		Args: d.Args,
		Limits: sandbox.Limits{
			Timeout:        lim.Timeout,
			MemoryBytes:    lim.MemoryBytes,
			OutputBytes:    lim.OutputBytes,
			MaxStderrBytes: DefaultMaxStderrBytes,
		},
		Egress: g.Egress(),
		Mounts: mounts(g.Mounts()),
		Env:    b.env(tool),
		Tenant: c.Principal.Tenant,
	}
	// The runner enforces inv.Limits.Timeout itself (a sandbox.Runner
	// must; the conformance suite checks it), so ctx gets no second timer.
	res, err := prog.Run(ctx, inv)
	refused := false
	if res != nil {
		rec.PeakMemoryBytes = res.PeakMemoryBytes
		rec.Egress = egress(res.Egress)
		refused = slices.ContainsFunc(res.Egress, func(a sandbox.EgressAttempt) bool { return !a.Allowed })
	}
	if refused {
		rec.Flags = append(rec.Flags, FlagSandboxRefused)
	}
	if err != nil {
		e := fromSandbox(err)
		switch e.Code {
		case sandbox.CodeToolError, sandbox.CodeBadOutput, sandbox.CodeExit:
			if refused {
				// The refusal decides the call: the tool's own failure
				// followed from it.
				e = &Error{Code: sandbox.CodeEgressDenied, Public: e.Public + " (the sandbox refused a network or file access during the call)", Err: err}
			}
		}
		return nil, e
	}
	if refused && g.FailOnRefusal() {
		return nil, &Error{Code: sandbox.CodeEgressDenied, Public: "the call tried a network or file access outside its grant, and the role fails such calls"}
	}
	// 6. Output: secrets cut out, injection screened, as the role says.
	v, serr := screen.Result(res.Output, screenPolicy(g.Output()), secretValues(inv.Env), b.redactor)
	rec.Flags = append(rec.Flags, v.Flags...)
	if serr != nil {
		if errors.Is(serr, screen.ErrBlocked) {
			return nil, &Error{Code: screen.CodeBlocked, Public: serr.Error()}
		}
		return nil, &Error{Code: CodeInternal, Public: "internal error", Err: fmt.Errorf("screen result: %w", serr)}
	}
	reason := v.Code
	if refused {
		reason = CodeContained
	}
	rec.ResultSHA256 = sha256Hex(v.Result)
	rec.ResultBytes = int64(len(v.Result))
	rec.Outcome = audit.OutcomeOK
	rec.Reason = reason
	return &Outcome{Result: json.RawMessage(v.Result), Reason: reason, Flags: slices.Clone(rec.Flags)}, nil
}

// FlagSandboxRefused marks a call during which the sandbox refused a
// network or file access.
const FlagSandboxRefused = "sandbox_refused"

// screenPolicy turns a role's output policy into the screen's.
func screenPolicy(o manifests.OutputPolicy) screen.Policy {
	return screen.Policy{Injection: o.Injection, StripURLs: o.StripURLs}
}

// secretValues returns the values of the secrets a call was given.
func secretValues(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for _, v := range env {
		out = append(out, v)
	}
	return out
}

// sha256Hex returns the SHA-256 of b in lower-case hex.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:])
}

func (b *Broker) env(t *manifests.Tool) map[string]string {
	if len(t.Requires.Secrets) == 0 {
		return nil
	}
	env := make(map[string]string, len(t.Requires.Secrets))
	for _, name := range t.Requires.Secrets {
		if v, ok := b.secrets[name]; ok {
			env[name] = v
		}
	}
	return env
}

func (b *Broker) admit(c Call, g *policy.Grant) *Error {
	if b.kill != nil {
		if err := b.kill.check(c.Principal.Tenant, c.Tool); err != nil {
			return err
		}
	}
	if r := g.Rate(); r != nil {
		key := strings.Join([]string{c.Principal.Tenant, c.Principal.Subject, g.Role(), c.Tool}, "\x00")
		if ok, wait := b.rate.take(key, r.Calls, r.Window, b.now()); !ok {
			return &Error{Code: CodeRateLimited, Public: fmt.Sprintf("rate limit of %d calls per %s reached; retry in %s", r.Calls, r.Window, wait.Round(time.Millisecond))}
		}
	}
	if g.Tool().Risk == "high" {
		return &Error{Code: CodeApprovalRequired, Public: "tool is high-risk and needs an approval; approvals are not configured, so the call is refused"}
	}
	return nil
}

func (b *Broker) acquire(tenant string) *Error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return &Error{Code: CodeInternal, Public: "broker is shutting down"}
	}
	if b.inflight[tenant] >= b.maxConc {
		return &Error{Code: CodeConcurrency, Public: fmt.Sprintf("tenant has %d calls in flight, the limit", b.maxConc)}
	}
	b.inflight[tenant]++
	return nil
}

// release ends a call acquire admitted.
func (b *Broker) release(tenant string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inflight[tenant]--; b.inflight[tenant] <= 0 {
		delete(b.inflight, tenant)
	}
}

// egress converts a call's network and file attempts for the audit log.
// Their hosts and paths are chosen by the tool: record redacts them.
func egress(in []sandbox.EgressAttempt) []audit.Egress {
	if len(in) == 0 {
		return nil
	}
	out := make([]audit.Egress, len(in))
	for i, a := range in {
		out[i] = audit.Egress(a)
	}
	return out
}

// mounts turns a grant's mounts into the sandbox's: absolute host
// directories at the tool's declared paths, read-only.
func mounts(in []manifests.Mount) []sandbox.Mount {
	if len(in) == 0 {
		return nil
	}
	out := make([]sandbox.Mount, len(in))
	for i, m := range in {
		out[i] = sandbox.Mount{Host: m.HostPath(), Guest: m.Guest}
	}
	return out
}

// coded is any error carrying a stable reason code.
type coded interface {
	error
	ReasonCode() string
}

func fromPolicy(err error) *Error {
	var pe *policy.Error
	if errors.As(err, &pe) {
		return &Error{Code: pe.Code, Public: pe.Public}
	}
	return &Error{Code: CodeInternal, Public: "internal error", Err: err}
}

func fromSandbox(err error) *Error {
	var se *sandbox.Error
	if errors.As(err, &se) {
		return &Error{Code: se.Code, Public: se.Public, Err: err}
	}
	var ol *sandbox.OutputLimitError
	if errors.As(err, &ol) {
		return &Error{Code: ol.ReasonCode(), Public: ol.Error(), Err: err}
	}
	if c, ok := errors.AsType[coded](err); ok {
		return &Error{Code: c.ReasonCode(), Public: "tool call failed", Err: err}
	}
	return &Error{Code: CodeInternal, Public: "internal error", Err: err}
}
