package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/manifests"
)

func newManifestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "Lint and pin tool and role manifests",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "lint DIR...",
		Short: "Check every manifest under DIR (several directories as one set); print each problem as file: field: why",
		Long: `Check every tool and role manifest under DIR as the broker would load them: strict
decoding, schemas, hidden characters, cross-references, artifact digests. Several directories
are checked as one set, as a config listing them loads them. Prints every problem as
"file: field: why" and exits 1 if there is any.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			problems := manifests.Lint(args...)
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p.String())
			}
			if len(problems) > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d problem(s)", len(problems))}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "pin FILE...",
		Short: "Rewrite each tool manifest's sha256 to the digest of its artifact",
		Long: `Rewrite the sha256 of each tool manifest to the digest of the artifact it names.
Use it after building a tool you trust; the broker refuses an artifact whose digest differs
from its manifest.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range args {
				changed, err := manifests.Pin(f)
				if err != nil {
					return &exitError{code: 1, msg: "toolwarden manifest pin: " + err.Error()}
				}
				if changed {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: pinned\n", f)
				}
			}
			return nil
		},
	})
	return cmd
}
