package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker/auth"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage API keys (only their hashes are stored)",
	}
	var cfgPath, tenant, subject, roles string
	var ttl time.Duration
	add := &cobra.Command{
		Use:   "add --config FILE --tenant T --subject S --roles R1,R2 [--expires 720h]",
		Short: "Create an API key, print it once, and store only its hash",
		Long: `Create a random API key for TENANT/SUBJECT with the given roles. The key is printed
once on stdout; the keys file named by the config keeps only its hash. HTTP clients send it
as "Authorization: Bearer KEY"; stdio clients set TOOLWARDEN_API_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden keys add: " + err.Error()}
			}
			key, err := auth.AddKey(cfg.keysPath(), auth.NewKey{Tenant: tenant, Subject: subject, Roles: splitList(roles), TTL: ttl})
			if err != nil {
				return &exitError{code: 1, msg: "toolwarden keys add: " + err.Error()}
			}
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		},
	}
	add.Flags().StringVar(&cfgPath, "config", "", "toolwarden.yaml naming the keys file (required)")
	add.Flags().StringVar(&tenant, "tenant", "", "tenant of the key (required)")
	add.Flags().StringVar(&subject, "subject", "", "subject of the key (required)")
	add.Flags().StringVar(&roles, "roles", "", "comma-separated roles (required)")
	add.Flags().DurationVar(&ttl, "expires", 0, "lifetime of the key, e.g. 720h (default: no expiry)")
	for _, f := range []string{"config", "tenant", "subject", "roles"} {
		_ = add.MarkFlagRequired(f)
	}
	var revokeCfg string
	revoke := &cobra.Command{
		Use:   "revoke --config FILE KEY_ID",
		Short: "Revoke an API key by its id (the part after tw_)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(revokeCfg)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden keys revoke: " + err.Error()}
			}
			if err := auth.RevokeKey(cfg.keysPath(), args[0]); err != nil {
				return &exitError{code: 1, msg: "toolwarden keys revoke: " + err.Error()}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeCfg, "config", "", "toolwarden.yaml naming the keys file (required)")
	_ = revoke.MarkFlagRequired("config")
	cmd.AddCommand(add, revoke, newAuditInitCmd())
	return cmd
}
