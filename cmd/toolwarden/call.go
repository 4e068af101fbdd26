package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker"
	"github.com/toolwarden/toolwarden/broker/auth"
)

func newCallCmd() *cobra.Command {
	var cfgPath, principal, roles string
	cmd := &cobra.Command{
		Use:   "call --config FILE --principal TENANT/SUBJECT --roles R1,R2 TOOL ['ARGS_JSON']",
		Short: "Run one tool call through the full pipeline",
		Long: `Run one tool call through the full pipeline (grant, argument validation, admission,
sandbox, audit) as a trusted local operator acting for TENANT/SUBJECT with the given roles.

On success the result JSON is printed on stdout. On refusal or failure the reason code and
message are printed on stderr and the exit status is 1. Either way the call is in the audit log.`,
		Example: `  toolwarden call --config examples/quickstart/toolwarden.yaml \
    --principal acme/alice --roles analyst echo '{"text":"hello"}'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			tenant, subject, ok := strings.Cut(principal, "/")
			if !ok || tenant == "" || subject == "" || strings.Contains(subject, "/") {
				return &exitError{code: 2, msg: fmt.Sprintf("toolwarden call: --principal %q: want TENANT/SUBJECT", principal)}
			}
			p := auth.Principal{Tenant: tenant, Subject: subject, Roles: splitList(roles), Method: "cli"}
			callArgs := "{}"
			if len(args) == 2 {
				callArgs = args[1]
			}
			ctx := cmd.Context()
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			s, err := openStack(ctx, cfgPath, logger)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden call: " + err.Error()}
			}
			defer s.close(context.WithoutCancel(ctx))
			out, err := s.broker.CallTool(ctx, broker.Call{
				Principal: p,
				Tool:      args[0],
				Args:      json.RawMessage(callArgs),
				Meta:      broker.Meta{Transport: "cli"},
			})
			if err != nil {
				var be *broker.Error
				if errors.As(err, &be) {
					return &exitError{code: 1, msg: be.Code + ": " + be.Public}
				}
				return &exitError{code: 1, msg: "internal: " + err.Error()}
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(out.Result))
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "toolwarden.yaml to load (required)")
	cmd.Flags().StringVar(&principal, "principal", "", "caller as TENANT/SUBJECT (required)")
	cmd.Flags().StringVar(&roles, "roles", "", "comma-separated roles of the caller (required)")
	for _, f := range []string{"config", "principal", "roles"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
