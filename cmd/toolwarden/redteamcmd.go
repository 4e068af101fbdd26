package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/cmd/toolwarden/internal/redteam"
)

func newRedteamCmd() *cobra.Command {
	var (
		cfgPath, corpus, report, url string
		keys, canaries, audits       []string
		timeout                      time.Duration
		requireIsolation, quiet      bool
	)
	cmd := &cobra.Command{
		Use:   "redteam --config FILE --corpus DIR",
		Short: "Attack a broker built from a config with a corpus of adversarial cases",
		Long: `redteam starts this binary as a broker on a private copy of the config (its own
keys, audit log and kill switch, and a random canary value for every secret), runs every
case of the corpus (*.yaml files, one category each) against it over Streamable HTTP and
stdio, and judges each reply against what the case expects. A case is unsafe when
something got through: a call allowed that must be refused, a canary secret or /etc/passwd
in a reply, the broker down after it. Then it stops the broker and checks its audit log:
it must verify, hold no canary, and record every refusal the corpus caused.

With --url it attacks a broker already serving at that URL instead, over HTTP only, as
the principals --key names (analyst, other, admin, hostile, expired: the roles the corpus
expects them to hold); --canary gives the secret values that must never come back, and
--audit the broker's audit logs to check once the run ends.

The exit status is 0 when every case passed, 1 when some failed or were unsafe.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cases, err := redteam.Load(corpus)
			if err != nil {
				return err
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var t *redteam.Target
			if url != "" {
				byName := map[string]string{}
				for _, kv := range keys {
					name, key, ok := strings.Cut(kv, "=")
					if !ok || name == "" || key == "" {
						return fmt.Errorf("--key %q: want PRINCIPAL=KEY", kv)
					}
					byName[name] = key
				}
				t = redteam.Attach(url, byName, canaries, audits)
			} else if t, err = redteam.Spawn(ctx, bin, cfgPath); err != nil {
				return err
			}
			defer t.Close()
			if !t.Isolated {
				fmt.Fprintln(cmd.ErrOrStderr(), "toolwarden redteam: WARNING: this host cannot isolate plugin processes; the plugin attacks are SKIPPED")
			}
			opts := redteam.Options{Timeout: timeout, RequireIsolation: requireIsolation}
			if !quiet {
				opts.Progress = cmd.OutOrStdout()
			}
			rep, runErr := redteam.Run(ctx, t, cases, opts)
			if report != "" && rep != nil {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(report, append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("write the report: %w", err)
				}
			}
			if rep != nil {
				printRedteam(cmd, rep)
			}
			if runErr != nil {
				return &exitError{code: 1, msg: runErr.Error()}
			}
			if rep.Failed > 0 || rep.Unsafe > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "examples/redteam/toolwarden.yaml", "the config of the broker to attack")
	cmd.Flags().StringVar(&corpus, "corpus", "examples/redteam/corpus", "the directory of case files")
	cmd.Flags().StringVar(&report, "report", "", "write the results as JSON to this file")
	cmd.Flags().StringVar(&url, "url", "", "attack the broker serving MCP at this URL (http://HOST:PORT/mcp) instead of spawning one")
	cmd.Flags().StringArrayVar(&keys, "key", nil, "with --url: PRINCIPAL=KEY, the API key of a principal the corpus names (repeatable)")
	cmd.Flags().StringArrayVar(&canaries, "canary", nil, "with --url: a secret value that must never appear in a reply or the audit log (repeatable)")
	cmd.Flags().StringArrayVar(&audits, "audit", nil, "with --url: an audit log of the broker to verify and reconcile after the run (repeatable)")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "the longest one exchange may take")
	cmd.Flags().BoolVar(&requireIsolation, "require-isolation", os.Getenv("TOOLWARDEN_REQUIRE_ISOLATION") == "1", "fail, rather than skip, plugin attacks where plugins cannot be isolated")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only what did not pass, and the totals")
	return cmd
}

// printRedteam prints what did not pass, the audit reconciliation and the
// totals.
func printRedteam(cmd *cobra.Command, rep *redteam.Report) {
	out := cmd.OutOrStdout()
	bad := false
	for _, r := range rep.Results {
		if r.Verdict == redteam.Passed {
			continue
		}
		if !bad {
			fmt.Fprintln(out, "\nnot passed (failed, unsafe or SKIPPED):")
			bad = true
		}
		fmt.Fprintf(out, "  %-7s %s/%s [%s]: %s\n", r.Verdict, r.Category, r.Name, r.Transport, r.Detail)
		if r.Reply != "" {
			fmt.Fprintf(out, "          reply: %s\n", r.Reply)
		}
	}
	refused, recorded := 0, 0
	for _, a := range rep.Audit {
		refused += a.Refused
		recorded += a.Recorded
	}
	if rep.AuditChecked {
		fmt.Fprintf(out, "\naudit log: verifies, holds no canary; %d refusals under %d reason codes, %d records of them\n", refused, len(rep.Audit), recorded)
	} else {
		fmt.Fprintln(out, "\naudit log: NOT CHECKED (the run stopped early, or --url without --audit)")
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d unsafe, %d skipped\n", rep.Passed, rep.Failed, rep.Unsafe, rep.Skipped)
}
