package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/broker/audit/query"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify, search and export the invocation log",
		Long: `Verify, search and export the invocation log. Every subcommand takes the log as a path
(the log file, or the directory holding it and its rotated segments) or as --config FILE
(the log the config names).`,
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditCheckpointsCmd(), newAuditQueryCmd(),
		newAuditTailCmd(), newAuditStatsCmd(), newAuditExportCmd())
	return cmd
}

// logTarget is how a subcommand finds the log: a path or --config.
type logTarget struct {
	cfgPath string
}

func (t *logTarget) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.cfgPath, "config", "", "toolwarden.yaml naming the log (instead of a path)")
}

// resolve returns the log path and the config, if one was given.
func (t *logTarget) resolve(args []string) (string, *fileConfig, error) {
	var cfg *fileConfig
	if t.cfgPath != "" {
		c, err := loadConfig(t.cfgPath)
		if err != nil {
			return "", nil, err
		}
		cfg = c
	}
	switch {
	case len(args) == 1:
		p, err := audit.FindLog(args[0])
		return p, cfg, err
	case cfg != nil:
		return cfg.auditPath(), cfg, nil
	}
	return "", nil, errors.New("name the log: give its path (a file or directory) or --config FILE")
}

// cmdError wraps err as an exit error: 1 for a problem found, 2 for usage.
func cmdError(name string, code int, err error) error {
	return &exitError{code: code, msg: "toolwarden audit " + name + ": " + err.Error()}
}

func newAuditVerifyCmd() *cobra.Command {
	var t logTarget
	var keyPath, cpPath string
	cmd := &cobra.Command{
		Use:   "verify [PATH] [--config FILE] [--key PUBKEY] [--checkpoints FILE]",
		Short: "Verify the log's hash chain and signed checkpoints",
		Long: `Recompute the hash chain across every file of the log and, given the public key, check each
signed checkpoint and hold the chain to it.

On success it reports how many records verify and how many a signed checkpoint anchors, and
lists the records after the last checkpoint as unanchored (their deletion or rewriting is not
detectable until a checkpoint covers them). On failure it names the file and the first bad line
and what is wrong with it: edited, missing, reordered, malformed, truncated (the log ends before
a checkpoint), or checkpoint (a checkpoint line is malformed or its signature does not verify),
and exits 1. A torn last line (a write cut short by a crash) is reported as torn, not as
tampering: the broker saves it aside and truncates it when it restarts.

The public key is --key, else the config's audit.publicKey (default audit-signing.pub beside the
config), else audit-signing.pub beside the log. --checkpoints holds the log to a copy of its
checkpoints kept elsewhere (see "audit checkpoints").`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := t.resolve(args)
			if err != nil {
				return cmdError("verify", 2, err)
			}
			pub, pubFrom, err := verifyKey(keyPath, cfg, path)
			if err != nil {
				return cmdError("verify", 2, err)
			}
			if cpPath != "" && pub == nil {
				return cmdError("verify", 2, errors.New("--checkpoints needs a public key (--key)"))
			}
			rep, err := audit.Verify(path, audit.VerifyConfig{PublicKey: pub, Checkpoints: cpPath})
			out := cmd.OutOrStdout()
			var ve *audit.VerifyError
			torn := errors.As(err, &ve) && ve.Kind == audit.KindTorn
			if err != nil && !torn {
				if ve != nil {
					file := ve.File
					if file == "" {
						file = path
					}
					return &exitError{code: 1, msg: fmt.Sprintf("%s: line %d: %s: %s", file, ve.Line, ve.Kind, ve.Msg)}
				}
				return cmdError("verify", 1, err)
			}
			fmt.Fprintf(out, "%s: verified %d records in %d files, head %s\n", path, rep.Records, rep.Files, shortHash(rep.Head))
			if pub == nil {
				fmt.Fprintln(out, "no public key: signed checkpoints not checked, so records cut from the end or a rewritten chain would go unnoticed (give --key)")
			} else {
				if rep.Checkpoints == 0 {
					fmt.Fprintf(out, "no signed checkpoint (key %s): every record is unanchored\n", pubFrom)
				} else {
					fmt.Fprintf(out, "verified %d records up to checkpoint %d (seq %d, signed %s, origin %q, key %s)\n",
						rep.Anchored, rep.Checkpoints, rep.Anchored, rep.CheckpointTime.UTC().Format(time.RFC3339), rep.Origin, pubFrom)
				}
				if rep.Unanchored > 0 {
					fmt.Fprintf(out, "%d records after the last checkpoint are unanchored (seq %d–%d):\n", rep.Unanchored, rep.Anchored+1, rep.Records)
					if err := listUnanchored(cmd.Context(), out, path, uint64(rep.Anchored)); err != nil {
						return cmdError("verify", 1, err)
					}
				}
			}
			if torn {
				fmt.Fprintf(out, "%s: line %d: torn: %s (not tampering; the broker saves it aside and truncates it on restart)\n", ve.File, ve.Line, ve.Msg)
			}
			return nil
		},
	}
	t.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&keyPath, "key", "", "public key (or signing key) file to check checkpoints with")
	cmd.Flags().StringVar(&cpPath, "checkpoints", "", "checkpoints file to hold the log to (default: the log's own)")
	return cmd
}

// maxUnanchoredListed caps the unanchored records verify prints.
const maxUnanchoredListed = 50

func listUnanchored(ctx context.Context, out io.Writer, path string, after uint64) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	n := 0
	stop := errors.New("enough")
	err := query.Records(ctx, path, query.Filter{AfterSeq: after}, func(r *audit.Record) error {
		if n++; n > maxUnanchoredListed {
			return stop
		}
		fmt.Fprintf(tw, "  unanchored\t%d\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.UTC().Format(time.RFC3339), clean(r.Tenant+"/"+r.Subject), clean(r.Tool), clean(r.Decision))
		return nil
	})
	if errors.Is(err, stop) {
		fmt.Fprintf(tw, "  …\n")
		err = nil
	}
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// verifyKey finds the public key verify uses, and says where it came
// from; nil when there is none.
func verifyKey(flag string, cfg *fileConfig, logPath string) (ed25519.PublicKey, string, error) {
	if flag != "" {
		pub, err := audit.LoadPublicKey(flag)
		return pub, flag, err
	}
	if cfg != nil {
		p := cfg.auditPublicKey()
		pub, err := audit.LoadPublicKey(p)
		switch {
		case err == nil:
			return pub, p, nil
		case cfg.Audit.PublicKey != "" || !errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("config: audit.publicKey: %w", err)
		}
	}
	p := filepath.Join(filepath.Dir(logPath), defaultPublicKey)
	pub, err := audit.LoadPublicKey(p)
	switch {
	case err == nil:
		return pub, p, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", nil
	}
	return nil, "", err
}

func newAuditCheckpointsCmd() *cobra.Command {
	var t logTarget
	var since, keyPath string
	cmd := &cobra.Command{
		Use:   "checkpoints [PATH] [--config FILE] [--since TIME] [--key PUBKEY]",
		Short: "Print the log's signed checkpoints, to keep where the broker cannot write",
		Long: `Print the signed checkpoints of the log, byte for byte, one per line, for example to append
them to storage the broker cannot write. "audit verify --checkpoints COPY" then holds the log to
that copy, so that an attacker who rewrites the log and its local checkpoints is still caught.
--since keeps the checkpoints signed at or after TIME (RFC 3339, a date, or a duration ago such
as 24h); --key checks every signature first.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _, err := t.resolve(args)
			if err != nil {
				return cmdError("checkpoints", 2, err)
			}
			var from time.Time
			if since != "" {
				if from, err = parseWhen(since, time.Now()); err != nil {
					return cmdError("checkpoints", 2, fmt.Errorf("--since: %w", err))
				}
			}
			var pub ed25519.PublicKey
			if keyPath != "" {
				if pub, err = audit.LoadPublicKey(keyPath); err != nil {
					return cmdError("checkpoints", 2, err)
				}
			}
			if _, err := audit.ExportCheckpoints(cmd.OutOrStdout(), audit.CheckpointsPath(path), from, pub); err != nil {
				return cmdError("checkpoints", 1, err)
			}
			return nil
		},
	}
	t.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&since, "since", "", "only checkpoints signed at or after this time (RFC 3339, date, or duration ago)")
	cmd.Flags().StringVar(&keyPath, "key", "", "public key to check each signature with")
	return cmd
}

// filterFlags are the record filters of query, tail, stats, export and
// policy replay.
type filterFlags struct {
	since, until                                     string
	tenant, subject, tool, decision, reason, session string
}

func (ff *filterFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&ff.since, "since", "", "records at or after this time (RFC 3339, a date, or a duration ago such as 24h)")
	fs.StringVar(&ff.until, "until", "", "records before this time (same forms as --since)")
	fs.StringVar(&ff.tenant, "tenant", "", "only this tenant")
	fs.StringVar(&ff.subject, "subject", "", "only this subject")
	fs.StringVar(&ff.tool, "tool", "", "only this tool")
	fs.StringVar(&ff.decision, "decision", "", "only this decision: allow or deny")
	fs.StringVar(&ff.reason, "reason", "", "only this reason code, e.g. denied.role")
	fs.StringVar(&ff.session, "session", "", "only this session")
}

func (ff *filterFlags) filter(now time.Time) (query.Filter, error) {
	f := query.Filter{Tenant: ff.tenant, Subject: ff.subject, Tool: ff.tool, Decision: ff.decision, Reason: ff.reason, Session: ff.session}
	switch ff.decision {
	case "", audit.DecisionAllow, audit.DecisionDeny:
	default:
		return f, fmt.Errorf("--decision %q: want allow or deny", ff.decision)
	}
	var err error
	if ff.since != "" {
		if f.Since, err = parseWhen(ff.since, now); err != nil {
			return f, fmt.Errorf("--since: %w", err)
		}
	}
	if ff.until != "" {
		if f.Until, err = parseWhen(ff.until, now); err != nil {
			return f, fmt.Errorf("--until: %w", err)
		}
	}
	return f, nil
}

// parseWhen reads a time as RFC 3339, a date (UTC midnight), or a Go
// duration before now ("90m", "24h").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time, a date (2006-01-02) or a duration ago (24h)", s)
}

// recordWriter prints records as a table or as JSON lines.
type recordWriter struct {
	w    io.Writer
	json bool
	tw   *tabwriter.Writer
}

func newRecordWriter(w io.Writer, output string) (*recordWriter, error) {
	switch output {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tTENANT\tSUBJECT\tTOOL\tDECISION\tREASON\tDURATION\tSESSION")
		return &recordWriter{w: w, tw: tw}, nil
	case "json":
		return &recordWriter{w: w, json: true}, nil
	}
	return nil, fmt.Errorf("--output %q: want table or json", output)
}

func (rw *recordWriter) write(r *audit.Record) error {
	if rw.json {
		line, err := audit.EncodeLine(r)
		if err != nil {
			return err
		}
		_, err = rw.w.Write(append(line, '\n'))
		return err
	}
	_, err := fmt.Fprintf(rw.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		clean(r.Tenant), clean(r.Subject), clean(r.Tool), clean(r.Decision), clean(r.Reason), r.Duration.Round(time.Microsecond), clean(r.Session))
	return err
}

// flush writes a table out; tail calls it after every record.
func (rw *recordWriter) flush() error {
	if rw.tw != nil {
		return rw.tw.Flush()
	}
	return nil
}

// clean makes a logged string safe for a terminal and a table cell:
// one with a control, format (bidi) or separator character, or a tab, is
// quoted with escapes.
func clean(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) || r == '\ufffd' {
			return strconv.QuoteToASCII(s)
		}
	}
	if s == "" {
		return "-"
	}
	return s
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	if h == "" {
		return "(empty log)"
	}
	return h
}

func newAuditQueryCmd() *cobra.Command {
	var t logTarget
	var ff filterFlags
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "query [PATH] [--config FILE] [filters] [--output table|json] [--limit N]",
		Short: "Print the records that match every filter given",
		Long: `Print the records of the log, in order, that match every filter given. --output json prints
each record as its log line (without the chain check: use "audit verify" for that).`,
		Example: `  toolwarden audit query --config toolwarden.yaml --tenant acme --decision deny --since 24h
  toolwarden audit query /var/log/toolwarden --session sess-42 --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _, err := t.resolve(args)
			if err != nil {
				return cmdError("query", 2, err)
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return cmdError("query", 2, err)
			}
			rw, err := newRecordWriter(cmd.OutOrStdout(), output)
			if err != nil {
				return cmdError("query", 2, err)
			}
			n := 0
			stop := errors.New("limit reached")
			err = query.Records(cmd.Context(), path, f, func(r *audit.Record) error {
				if limit > 0 && n >= limit {
					return stop
				}
				n++
				return rw.write(r)
			})
			if ferr := rw.flush(); err == nil {
				err = ferr
			}
			if err != nil && !errors.Is(err, stop) {
				return cmdError("query", 1, err)
			}
			return nil
		},
	}
	t.addFlags(cmd.Flags())
	ff.add(cmd.Flags())
	cmd.Flags().StringVar(&output, "output", "table", "table or json (one record per line)")
	cmd.Flags().IntVar(&limit, "limit", 0, "stop after N records (0: all)")
	return cmd
}

func newAuditTailCmd() *cobra.Command {
	var t logTarget
	var ff filterFlags
	var output string
	var lines int
	var follow bool
	cmd := &cobra.Command{
		Use:   "tail [PATH] [--config FILE] [-n N] [-f] [filters] [--output table|json]",
		Short: "Print the last records, and with -f new ones as they are written",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _, err := t.resolve(args)
			if err != nil {
				return cmdError("tail", 2, err)
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return cmdError("tail", 2, err)
			}
			rw, err := newRecordWriter(cmd.OutOrStdout(), output)
			if err != nil {
				return cmdError("tail", 2, err)
			}
			if lines < 0 {
				return cmdError("tail", 2, errors.New("-n must not be negative"))
			}
			ctx := cmd.Context()
			recs, last, err := query.Tail(ctx, path, f, lines)
			if err != nil && !(follow && errors.Is(err, fs.ErrNotExist)) {
				return cmdError("tail", 1, err)
			}
			for _, r := range recs {
				if err := rw.write(r); err != nil {
					return cmdError("tail", 1, err)
				}
			}
			if err := rw.flush(); err != nil || !follow {
				return err
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			f.AfterSeq = last
			err = query.Follow(ctx, path, f, 0, func(r *audit.Record) error {
				if err := rw.write(r); err != nil {
					return err
				}
				return rw.flush()
			})
			if err != nil {
				return cmdError("tail", 1, err)
			}
			return nil
		},
	}
	t.addFlags(cmd.Flags())
	ff.add(cmd.Flags())
	cmd.Flags().StringVar(&output, "output", "table", "table or json (one record per line)")
	cmd.Flags().IntVarP(&lines, "lines", "n", 10, "how many of the last matching records to print first")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing records as they are written, across rotation, until interrupted")
	return cmd
}

func newAuditStatsCmd() *cobra.Command {
	var t logTarget
	var ff filterFlags
	var output string
	var top int
	cmd := &cobra.Command{
		Use:   "stats [PATH] [--config FILE] [filters] [--top N] [--output table|json]",
		Short: "Summarise calls: totals, denials by reason, top tools and subjects",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _, err := t.resolve(args)
			if err != nil {
				return cmdError("stats", 2, err)
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return cmdError("stats", 2, err)
			}
			if output != "table" && output != "json" {
				return cmdError("stats", 2, fmt.Errorf("--output %q: want table or json", output))
			}
			s, err := query.Summarize(cmd.Context(), path, f)
			if err != nil {
				return cmdError("stats", 1, err)
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					*query.Summary
					TopTools    []query.Count `json:"top_tools"`
					TopSubjects []query.Count `json:"top_subjects"`
				}{s, query.Top(s.Tools, top), query.Top(s.Subjects, top)})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "calls\t%d\n", s.Records)
			fmt.Fprintf(tw, "allowed\t%d\t(%d failed while running)\n", s.Allowed, s.Failed)
			fmt.Fprintf(tw, "denied\t%d\n", s.Denied)
			if s.Records > 0 {
				fmt.Fprintf(tw, "from\t%s\n", s.First.UTC().Format(time.RFC3339))
				fmt.Fprintf(tw, "to\t%s\n", s.Last.UTC().Format(time.RFC3339))
			}
			section := func(title string, counts []query.Count) {
				if len(counts) == 0 {
					return
				}
				fmt.Fprintf(tw, "\n%s\n", title)
				for _, c := range counts {
					fmt.Fprintf(tw, "  %s\t%d\n", clean(c.Key), c.N)
				}
			}
			section("denials by reason", query.Top(s.DenialsByReason, 0))
			section("failures by reason", query.Top(s.FailuresByReason, 0))
			section(fmt.Sprintf("top %d tools", top), query.Top(s.Tools, top))
			section(fmt.Sprintf("top %d subjects (tenant/subject)", top), query.Top(s.Subjects, top))
			return tw.Flush()
		},
	}
	t.addFlags(cmd.Flags())
	ff.add(cmd.Flags())
	cmd.Flags().StringVar(&output, "output", "table", "table or json")
	cmd.Flags().IntVar(&top, "top", 10, "how many tools and subjects to rank")
	return cmd
}

func newAuditExportCmd() *cobra.Command {
	var t logTarget
	var ff filterFlags
	var format, origin string
	cmd := &cobra.Command{
		Use:   "export --format ocsf [PATH] [--config FILE] [filters] [--origin NAME]",
		Short: "Export records as OCSF API Activity events, one JSON object per line, for a SIEM",
		Long: `Export the records that match the filters as OCSF 1.3 API Activity events (class 6003), one
JSON object per line. The allow/deny decision is the security_control profile's action and
disposition; metadata.uid is ORIGIN:SEQ, so re-exporting the same records is idempotent.
--origin defaults to the config's audit.origin, else the log's absolute path.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "ocsf" {
				return cmdError("export", 2, fmt.Errorf("--format %q: the only format is ocsf", format))
			}
			path, cfg, err := t.resolve(args)
			if err != nil {
				return cmdError("export", 2, err)
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return cmdError("export", 2, err)
			}
			if origin == "" && cfg != nil {
				origin = cfg.Audit.Origin
			}
			if origin == "" {
				if origin, err = filepath.Abs(path); err != nil {
					return cmdError("export", 2, err)
				}
			}
			out := cmd.OutOrStdout()
			err = query.Records(cmd.Context(), path, f, func(r *audit.Record) error {
				b, err := query.OCSF(r, origin)
				if err != nil {
					return fmt.Errorf("record %d: %w", r.Seq, err)
				}
				_, err = out.Write(append(b, '\n'))
				return err
			})
			if err != nil {
				return cmdError("export", 1, err)
			}
			return nil
		},
	}
	t.addFlags(cmd.Flags())
	ff.add(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "", "export format: ocsf (required)")
	cmd.Flags().StringVar(&origin, "origin", "", "name of the log in metadata.uid and metadata.log_name")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}
