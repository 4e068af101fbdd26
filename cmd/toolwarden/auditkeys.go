package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/redact"
)

// Default names of the audit key files, beside the config file.
const (
	defaultSigningKey = "audit-signing.key"
	defaultPublicKey  = "audit-signing.pub"
	defaultHMACKey    = "audit-hmac.key"
)

func (c *fileConfig) auditSigningKey() string { return c.path(c.Audit.SigningKey, defaultSigningKey) }
func (c *fileConfig) auditPublicKey() string  { return c.path(c.Audit.PublicKey, defaultPublicKey) }
func (c *fileConfig) auditHMACKey() string    { return c.path(c.Audit.HMACKey, defaultHMACKey) }

func newAuditInitCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "audit-init --config FILE",
		Short: "Create the audit log's checkpoint signing key and redaction key",
		Long: `Create the keys the audit log uses, at the paths the config names (by default beside it):

  audit-signing.key  ed25519 private key that signs checkpoints (mode 0600)
  audit-signing.pub  its public key, for "audit verify" wherever the log is checked
  audit-hmac.key     key of the HMAC markers that replace secrets (mode 0600)

Existing files are never overwritten. Copy audit-signing.pub somewhere the broker cannot
write: a verifier holding it detects any rewrite of the log up to the last checkpoint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden keys audit-init: " + err.Error()}
			}
			signing, pubPath, hmacPath := cfg.auditSigningKey(), cfg.auditPublicKey(), cfg.auditHMACKey()
			for _, p := range []string{signing, pubPath, hmacPath} {
				if _, err := os.Lstat(p); err == nil {
					return &exitError{code: 1, msg: fmt.Sprintf("toolwarden keys audit-init: %s already exists; refusing to overwrite a key", p)}
				}
			}
			key, err := audit.CreateSigningKey(signing)
			if err != nil {
				return &exitError{code: 1, msg: "toolwarden keys audit-init: " + err.Error()}
			}
			pub := key.Public().(ed25519.PublicKey)
			if err := audit.WritePublicKey(pubPath, pub); err != nil {
				return &exitError{code: 1, msg: "toolwarden keys audit-init: " + err.Error()}
			}
			if _, err := audit.CreateHMACKey(hmacPath); err != nil {
				return &exitError{code: 1, msg: "toolwarden keys audit-init: " + err.Error()}
			}
			sum := sha256.Sum256(pub)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "signing key  %s (key id %s)\n", signing, hex.EncodeToString(sum[:8]))
			fmt.Fprintf(out, "public key   %s\n", pubPath)
			fmt.Fprintf(out, "HMAC key     %s\n", hmacPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "toolwarden.yaml naming the key files (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// auditOptions builds the audit log's options and the broker's redactor
// from the config. A key file named in the config must load; a default
// one that does not exist is a warning: no checkpoints, or markers that
// correlate only within this process.
func auditOptions(cfg *fileConfig, logger *slog.Logger) (audit.Options, *redact.Redactor, error) {
	a := cfg.Audit
	if a.CheckpointEvery < 0 {
		return audit.Options{}, nil, errors.New("config: audit.checkpointEvery: must be positive")
	}
	opts := audit.Options{
		Logger:             logger,
		Origin:             a.Origin,
		CheckpointEvery:    a.CheckpointEvery,
		CheckpointInterval: time.Duration(a.CheckpointInterval),
		RotateBytes:        int64(a.RotateSize),
	}
	key, err := audit.LoadSigningKey(cfg.auditSigningKey())
	switch {
	case err == nil:
		opts.SigningKey = key
	case a.SigningKey == "" && errors.Is(err, fs.ErrNotExist):
		logger.Warn("audit log: no signing key, so no signed checkpoints; run 'toolwarden keys audit-init'", "path", cfg.auditSigningKey())
	default:
		return audit.Options{}, nil, fmt.Errorf("config: audit.signingKey: %w", err)
	}
	var red *redact.Redactor
	hk, err := audit.LoadHMACKey(cfg.auditHMACKey())
	switch {
	case err == nil:
		red, err = redact.New(hk)
		if err != nil {
			return audit.Options{}, nil, fmt.Errorf("config: audit.hmacKey: %w", err)
		}
	case a.HMACKey == "" && errors.Is(err, fs.ErrNotExist):
		logger.Warn("audit log: no HMAC key, so redaction markers correlate only within this process; run 'toolwarden keys audit-init'", "path", cfg.auditHMACKey())
		red = redact.NewEphemeral()
	default:
		return audit.Options{}, nil, fmt.Errorf("config: audit.hmacKey: %w", err)
	}
	return opts, red, nil
}
