package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker/auth"
)

func newToolsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "Inspect the tools a role may call",
	}
	var cfgPath, roles string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --config FILE --roles R1,R2",
		Short: "List the tools the given roles grant, as tools/list would show them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden tools list: " + err.Error()}
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			pol, _, err := loadPolicy(cfg, logger)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden tools list: " + err.Error()}
			}
			p := auth.Principal{Roles: splitList(roles)}
			grants := pol.Visible(p.Roles)
			out := cmd.OutOrStdout()
			if asJSON {
				type entry struct {
					Name        string          `json:"name"`
					Description string          `json:"description"`
					Role        string          `json:"role"`
					InputSchema json.RawMessage `json:"inputSchema"`
				}
				list := make([]entry, 0, len(grants))
				for _, g := range grants {
					list = append(list, entry{g.Tool().Name, g.Tool().Description, g.Role(), g.InputSchema()})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOOL\tVERSION\tROLE\tCONSTRAINED\tDESCRIPTION")
			for _, g := range grants {
				t := g.Tool()
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", t.Name, t.Version, g.Role(), g.Constrained(), t.Description)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&cfgPath, "config", "", "toolwarden.yaml to load (required)")
	list.Flags().StringVar(&roles, "roles", "", "comma-separated roles (required)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON with each tool's effective input schema")
	_ = list.MarkFlagRequired("config")
	_ = list.MarkFlagRequired("roles")
	cmd.AddCommand(list)
	return cmd
}
