package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker/audit"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and read the invocation log",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify FILE",
		Short: "Verify the audit log's hash chain",
		Long: `Recompute the audit log's hash chain. Exits 0 on an intact log and 1 naming the first
bad line on any edit, deletion, reordering or truncation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := audit.VerifyFile(args[0])
			if err != nil {
				var ve *audit.VerifyError
				if errors.As(err, &ve) {
					return &exitError{code: 1, msg: fmt.Sprintf("%s: line %d: %s: %s", args[0], ve.Line, ve.Kind, ve.Msg)}
				}
				return &exitError{code: 1, msg: "toolwarden audit verify: " + err.Error()}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: verified %d records, head %s\n", args[0], rep.Records, rep.Head)
			return nil
		},
	})
	return cmd
}
