package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/query"
	"github.com/toolwarden/toolwarden/broker/audit/redact"
	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Review manifest changes against recorded calls",
	}
	var auditPath, manifestsDir, cfgPath, output string
	var ff filterFlags
	var all, failOnChange bool
	replay := &cobra.Command{
		Use:   "replay --audit PATH --manifests DIR [filters] [--output table|json] [--all] [--fail-on-change]",
		Short: "Re-decide every recorded call under another manifest set and list the decisions that change",
		Long: `Re-decide every call in the audit log (a file or a directory) under the manifest set in DIR:
would its roles still be granted the tool, and would the recorded arguments pass the new
schemas and role constraints? The calls whose allow/deny decision would change are listed, so
that a role or tool change can be reviewed before it ships.

Only the policy decision is replayed (grant and arguments), not rate limits, kill switches,
approvals or the run itself. A call whose recorded arguments hold a redacted value cannot be
re-validated; when its decision depends on its arguments it is reported as undecidable
(redacted argument), never guessed. Calls refused before the policy (authentication) and
calls whose arguments were never decoded are skipped.

Exit status: 0, or with --fail-on-change 1 when any decision would change.`,
		Example: `  toolwarden policy replay --audit /var/log/toolwarden --manifests ./manifests-next --since 720h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fail := func(code int, err error) error {
				return &exitError{code: code, msg: "toolwarden policy replay: " + err.Error()}
			}
			path, err := audit.FindLog(auditPath)
			if err != nil {
				return fail(2, err)
			}
			set, err := manifests.LoadDir(manifestsDir)
			if err != nil {
				return fail(2, fmt.Errorf("load manifests: %w", err))
			}
			pcfg := policy.Config{Set: set}
			if cfgPath != "" {
				cfg, err := loadConfig(cfgPath)
				if err != nil {
					return fail(2, err)
				}
				pcfg = cfg.policyConfig(set)
			}
			pol, err := policy.New(pcfg)
			if err != nil {
				return fail(2, err)
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return fail(2, err)
			}
			if output != "table" && output != "json" {
				return fail(2, fmt.Errorf("--output %q: want table or json", output))
			}
			out := cmd.OutOrStdout()
			var tw *tabwriter.Writer
			if output == "table" {
				tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tTIME\tTENANT/SUBJECT\tROLES\tTOOL\tRECORDED\tREPLAYED")
			}
			sum, err := replayLog(cmd.Context(), pol, path, f, func(c replayedCall) error {
				if !all && c.Status != statusChanged && c.Status != statusUndecidable {
					return nil
				}
				if tw == nil {
					b, err := json.Marshal(c)
					if err != nil {
						return err
					}
					_, err = out.Write(append(audit.EscapeLine(b), '\n'))
					return err
				}
				_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Seq, c.Time.UTC().Format(time.RFC3339),
					clean(c.Tenant+"/"+c.Subject), clean(strings.Join(c.Roles, ",")), clean(c.Tool), c.Was, c.Now)
				return err
			})
			if tw != nil {
				if ferr := tw.Flush(); err == nil {
					err = ferr
				}
			}
			if err != nil {
				return fail(1, err)
			}
			summary := fmt.Sprintf("replayed %d calls under %s: %d would change (%d allow→deny, %d deny→allow), %d unchanged, %d undecidable (redacted argument), %d skipped (not decided by policy)",
				sum.Replayed, manifestsDir, sum.ToDeny+sum.ToAllow, sum.ToDeny, sum.ToAllow, sum.Unchanged, sum.Undecidable, sum.Skipped)
			if tw != nil {
				fmt.Fprintln(out, summary)
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), summary)
			}
			if failOnChange && sum.ToDeny+sum.ToAllow > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	replay.Flags().StringVar(&auditPath, "audit", "", "the audit log: its file or directory (required)")
	replay.Flags().StringVar(&manifestsDir, "manifests", "", "directory of the changed manifest set (required)")
	replay.Flags().StringVar(&cfgPath, "config", "", "toolwarden.yaml whose limits (maxArgumentBytes) the broker decides with; default: the built-in defaults")
	replay.Flags().StringVar(&output, "output", "table", "table or json (one call per line)")
	replay.Flags().BoolVar(&all, "all", false, "list every replayed call, not only changed and undecidable ones")
	replay.Flags().BoolVar(&failOnChange, "fail-on-change", false, "exit 1 when any decision would change")
	ff.add(replay.Flags())
	_ = replay.MarkFlagRequired("audit")
	_ = replay.MarkFlagRequired("manifests")
	cmd.AddCommand(replay)
	return cmd
}

// Statuses of a replayed call.
const (
	statusChanged     = "changed"
	statusUnchanged   = "unchanged"
	statusUndecidable = "undecidable"
	statusSkipped     = "skipped"
)

// replayedCall is one recorded call re-decided.
type replayedCall struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Tenant  string    `json:"tenant"`
	Subject string    `json:"subject"`
	Roles   []string  `json:"roles"`
	Tool    string    `json:"tool"`
	Status  string    `json:"status"`
	// Was and Now are the recorded and replayed policy decisions: "allow
	// (role)" or "deny (reason code)"; Now explains an undecidable or
	// skipped call instead.
	Was string `json:"was"`
	Now string `json:"now"`
}

// replaySummary counts the replayed calls.
type replaySummary struct {
	Replayed, ToDeny, ToAllow, Unchanged, Undecidable, Skipped int
}

// preArgumentCodes are the policy reason codes decided before the
// arguments are looked at; argumentCodes those decided on them.
var (
	preArgumentCodes = map[string]bool{policy.CodeUnknownTool: true, policy.CodeDeniedRole: true}
	argumentCodes    = map[string]bool{policy.CodeDeniedArgs: true, policy.CodeInvalidArgs: true}
)

// replayLog re-decides every call of the log at path matching f under
// pol, calling fn for each.
func replayLog(ctx context.Context, pol *policy.Policy, path string, f query.Filter, fn func(replayedCall) error) (replaySummary, error) {
	var sum replaySummary
	err := query.Records(ctx, path, f, func(r *audit.Record) error {
		c := replayCall(pol, r)
		switch {
		case c.Status == statusSkipped:
			sum.Skipped++
		case c.Status == statusUndecidable:
			sum.Undecidable++
		case c.Status == statusUnchanged:
			sum.Unchanged++
		case strings.HasPrefix(c.Now, "deny"):
			sum.ToDeny++
		default:
			sum.ToAllow++
		}
		if c.Status != statusSkipped {
			sum.Replayed++
		}
		return fn(c)
	})
	return sum, err
}

// replayCall re-decides one recorded call.
func replayCall(pol *policy.Policy, r *audit.Record) replayedCall {
	c := replayedCall{Seq: r.Seq, Time: r.Time, Tenant: r.Tenant, Subject: r.Subject, Roles: r.Roles, Tool: r.Tool}
	// What the policy decided when the call was made.
	wasAllow := false
	switch {
	case r.GrantedBy != "":
		wasAllow, c.Was = true, "allow ("+r.GrantedBy+")"
	case preArgumentCodes[r.Reason]:
		c.Was = "deny (" + r.Reason + ")"
	case argumentCodes[r.Reason] && len(r.Arguments) > 0:
		c.Was = "deny (" + r.Reason + ")"
	default:
		c.Status, c.Was, c.Now = statusSkipped, orDash(r.Reason), "not decided by policy"
		return c
	}
	// What it would decide now, by the broker's own decision function.
	d, err := pol.Decide(r.Roles, r.Tool, r.Arguments)
	nowAllow := false
	switch {
	case d.Tool == nil:
		c.Now = "deny (" + reasonOf(err) + ")"
	case len(r.Arguments) == 0:
		c.Status, c.Now = statusUndecidable, "arguments not recorded"
		return c
	case redact.ContainsMarker(r.Arguments):
		c.Status, c.Now = statusUndecidable, "undecidable (redacted argument)"
		return c
	case err != nil:
		c.Now = "deny (" + reasonOf(err) + ")"
	default:
		nowAllow, c.Now = true, "allow ("+d.Grant.Role()+")"
	}
	c.Status = statusUnchanged
	if wasAllow != nowAllow {
		c.Status = statusChanged
	}
	return c
}

func reasonOf(err error) string {
	var pe *policy.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return "internal: " + err.Error()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
