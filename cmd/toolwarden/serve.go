package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/toolwarden/toolwarden/broker/auth"
	"github.com/toolwarden/toolwarden/broker/mcpserver"
)

func newServeCmd() *cobra.Command {
	var cfgPath, listen string
	var stdio bool
	cmd := &cobra.Command{
		Use:   "serve --config FILE [--listen ADDR] [--stdio]",
		Short: "Serve MCP over Streamable HTTP (at /mcp) or stdio",
		Long: `Serve MCP. Over HTTP (default 127.0.0.1:8808, path /mcp) every request must carry
"Authorization: Bearer KEY_OR_JWT". Over stdio (--stdio) the caller's API key is read from
the TOOLWARDEN_API_KEY environment variable and every request runs as that principal.
Logs go to stderr; stdout is the MCP stream under --stdio.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			s, err := openStack(ctx, cfgPath, logger)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden serve: " + err.Error()}
			}
			defer func() {
				if err := s.close(context.WithoutCancel(ctx)); err != nil {
					logger.Error("shutdown", "err", err)
				}
			}()
			authn, err := newAuthenticator(s.cfg, logger)
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden serve: " + err.Error()}
			}
			addr := listen
			if addr == "" {
				addr = s.cfg.HTTP.Listen
			}
			if addr == "" {
				addr = "127.0.0.1:8808"
			}
			// Listen before building the resource URL, so the metadata and
			// every WWW-Authenticate name the bound port (--listen :0).
			var ln net.Listener
			if !stdio {
				if ln, err = net.Listen("tcp", addr); err != nil {
					return &exitError{code: 2, msg: "toolwarden serve: " + err.Error()}
				}
				defer ln.Close()
				addr = ln.Addr().String()
			}
			resource := s.cfg.HTTP.ResourceURL
			if resource == "" {
				resource = "http://" + addr + "/mcp"
			}
			srv, err := mcpserver.New(mcpserver.Config{
				Core:               s.broker,
				Auth:               authn,
				Name:               "toolwarden",
				Version:            version,
				MaxBodyBytes:       int64(s.cfg.HTTP.MaxBodyBytes),
				AllowedOrigins:     s.cfg.HTTP.AllowedOrigins,
				SessionIdleTimeout: time.Duration(s.cfg.HTTP.SessionIdle),
				ResourceURL:        resource,
				Logger:             logger,
			})
			if err != nil {
				return &exitError{code: 2, msg: "toolwarden serve: " + err.Error()}
			}
			defer srv.Close()
			if stdio {
				return serveStdio(ctx, srv, authn, logger)
			}
			return serveHTTP(ctx, srv, ln, logger)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "toolwarden.yaml to load (required)")
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP listen address (default from config, else 127.0.0.1:8808)")
	cmd.Flags().BoolVar(&stdio, "stdio", false, "serve MCP on stdin/stdout instead of HTTP")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newAuthenticator(cfg *fileConfig, logger *slog.Logger) (*auth.Authenticator, error) {
	ac := auth.Config{KeysFile: cfg.keysPath(), Logger: logger}
	if j := cfg.JWT; j != nil {
		ac.JWT = &auth.JWTConfig{
			Issuer:       j.Issuer,
			Audience:     j.Audience,
			JWKSFile:     cfg.path(j.JWKSFile, ""),
			JWKSURL:      j.JWKSURL,
			Algorithms:   j.Algorithms,
			MaxLifetime:  time.Duration(j.MaxLifetime),
			Skew:         time.Duration(j.Skew),
			TenantClaim:  j.TenantClaim,
			SubjectClaim: j.SubjectClaim,
			RolesClaim:   j.RolesClaim,
		}
	}
	return auth.New(ac)
}

func serveStdio(ctx context.Context, srv *mcpserver.Server, authn *auth.Authenticator, logger *slog.Logger) error {
	key := os.Getenv("TOOLWARDEN_API_KEY")
	p, err := authn.Authenticate(ctx, key)
	if err != nil {
		return &exitError{code: 2, msg: "toolwarden serve --stdio: TOOLWARDEN_API_KEY: " + err.Error()}
	}
	logger.Info("serving MCP on stdio", "tenant", p.Tenant, "subject", p.Subject, "roles", p.Roles)
	if err := srv.ServeStdio(ctx, os.Stdin, os.Stdout, p); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stdio: %w", err)
	}
	return nil
}

func serveHTTP(ctx context.Context, srv *mcpserver.Server, ln net.Listener, logger *slog.Logger) error {
	hs := srv.HTTPServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(srv.Listener(ln)) }()
	logger.Info("serving MCP over Streamable HTTP", "url", "http://"+ln.Addr().String()+"/mcp")
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
