package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/plugin"
	"github.com/toolwarden/toolwarden/sandbox/wasm"
)

// stack is a running broker with everything it owns.
type stack struct {
	cfg    *fileConfig
	broker *broker.Broker
	log    *audit.Log
	wasm   *wasm.Runner
	plugin *plugin.Runner // nil unless a tool needs it
}

// openStack loads the manifests, opens the audit log and prepares every tool.
func openStack(ctx context.Context, cfgPath string, logger *slog.Logger) (*stack, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	pol, isolated, err := loadPolicy(cfg, logger)
	if err != nil {
		return nil, err
	}
	secrets, err := cfg.secrets()
	if err != nil {
		return nil, err
	}
	s := &stack{cfg: cfg}
	s.wasm, err = wasm.New(wasm.Config{CacheDir: cfg.cacheDir(), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("start wasm runtime: %w", err)
	}
	runners := []sandbox.Runner{s.wasm}
	if isolated {
		s.plugin, err = plugin.New(plugin.Config{Logger: logger})
		if err != nil {
			s.close(ctx)
			return nil, fmt.Errorf("start plugin runtime: %w", err)
		}
		runners = append(runners, s.plugin)
	}
	opts, redactor, err := auditOptions(cfg, logger)
	if err != nil {
		s.close(ctx)
		return nil, err
	}
	s.log, err = audit.Open(cfg.auditPath(), opts)
	if err != nil {
		s.close(ctx)
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	s.broker, err = broker.New(ctx, broker.Config{
		Policy:                 pol,
		Runners:                runners,
		Audit:                  s.log,
		MaxConcurrentPerTenant: cfg.MaxConcurrentPerTenant,
		KillSwitchFile:         cfg.path(cfg.KillSwitch, ""),
		Secrets:                secrets,
		Redactor:               redactor,
		Logger:                 logger,
	})
	if err != nil {
		s.close(ctx)
		return nil, err
	}
	return s, nil
}

func (s *stack) close(ctx context.Context) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if s.broker != nil {
		keep(s.broker.Close(ctx))
	}
	if s.wasm != nil {
		keep(s.wasm.Close(ctx))
	}
	if s.plugin != nil {
		keep(s.plugin.Close(ctx))
	}
	if s.log != nil {
		keep(s.log.Close())
	}
	return first
}

// loadPolicy loads the manifests of cfg and computes the policy every
// command decides with (serve, call, tools list, policy replay --config):
// the config's default limits and argument cap, and, where this host cannot
// isolate plugins, the plugin tools withdrawn. isolated reports whether
// plugin tools remain and need the plugin runtime.
func loadPolicy(cfg *fileConfig, logger *slog.Logger) (pol *policy.Policy, isolated bool, err error) {
	set, err := manifests.LoadDirs(cfg.manifestsDirs()...)
	if err != nil {
		return nil, false, fmt.Errorf("load manifests: %w", err)
	}
	if needs := pluginTools(set); len(needs) > 0 {
		if err := plugin.Available(false); err != nil {
			// Fail closed, loudly: the tools are withdrawn (not listed, not
			// callable), never run without their confinement.
			logger.Error("plugin tools withdrawn: this host cannot isolate plugins", "tools", needs, "reason", err)
			set = withoutTools(set, needs)
		} else {
			isolated = true
		}
	}
	pol, err = policy.New(cfg.policyConfig(set))
	if err != nil {
		return nil, false, err
	}
	return pol, isolated, nil
}

// pluginTools names the tools of set that run as plugins, sorted.
func pluginTools(set *manifests.Set) []string {
	var out []string
	for name, t := range set.Tools {
		if t.RuntimeKind() == "plugin" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// withoutTools returns a copy of set without the named tools and without the
// role entries that grant them by name.
func withoutTools(set *manifests.Set, names []string) *manifests.Set {
	out := &manifests.Set{Tools: maps.Clone(set.Tools), Roles: make(map[string]*manifests.Role, len(set.Roles)), Hash: set.Hash}
	for _, n := range names {
		delete(out.Tools, n)
	}
	for name, r := range set.Roles {
		cp := *r
		cp.Tools = slices.DeleteFunc(slices.Clone(r.Tools), func(t manifests.RoleTool) bool { return slices.Contains(names, t.Name) })
		out.Roles[name] = &cp
	}
	return out
}
