// Command toolwarden is the toolwarden broker and its operator tools: serve
// MCP over stdio or Streamable HTTP, run one call from the shell, list
// granted tools, lint and pin manifests, verify the audit log, manage keys.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/sandbox/plugin"
)

// version is set by the linker (-ldflags "-X main.version=...").
var version = "dev"

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	// A plugin launcher is this binary re-executed by the plugin runner:
	// it confines itself and execs the plugin, and never returns here.
	plugin.MaybeLaunch()
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "toolwarden:", err)
		os.Exit(2)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "toolwarden",
		Short:         "A broker between AI agents and the tools they call",
		Long:          "toolwarden authenticates every MCP tool call, checks it against role manifests (deny by default),\nvalidates its arguments, runs it in a sandbox with egress, memory, time and output caps,\nand writes it to a tamper-evident audit log.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newCallCmd(),
		newToolsCmd(),
		newManifestCmd(),
		newAuditCmd(),
		newPolicyCmd(),
		newKeysCmd(),
		newRedteamCmd(),
		newVersionCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the toolwarden version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "toolwarden", version)
			return nil
		},
	}
}
