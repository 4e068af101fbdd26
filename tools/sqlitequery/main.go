// Command sqlitequery is the toolwarden sqlitequery tool: it runs one
// read-only SQL statement against the SQLite database the broker mounts
// read-only at /data/sample.db (see [databasePath]) and returns
// {"columns": [...], "rows": [[...], ...], "truncated": BOOL}.
//
// It is a plugin tool: a native, static binary (modernc.org/sqlite is
// SQLite translated to Go, so it builds with CGO_ENABLED=0 and runs in the
// plugin launcher's minimal root) that speaks tool ABI v1 through
// tools/sdk/plugin. `make tools` builds it into build/plugins/sqlitequery.
//
// # What a query may do
//
// One statement starting SELECT, WITH or VALUES, checked before SQLite
// sees it (a second statement after a semicolon is refused). SQLite's
// authorizer then lets the prepared statement read tables and call
// functions and nothing else: INSERT, UPDATE, DELETE, schema changes,
// ATTACH, DETACH, PRAGMA (table-valued pragma functions included),
// transactions and load_extension() are refused with a message saying
// which. Underneath, the database is opened with mode=ro&immutable=1
// (no locks, journal or side files) and PRAGMA query_only=ON, trusted
// schema off, no attached databases, and SQLite limits on statement
// length (64 KiB) and value length (16 MiB).
//
// # Caps
//
// At most [maxRows] rows and [maxResultBytes] bytes of encoded result
// (column names included) are returned; past either, the result stops at
// the last whole row and "truncated" is true. A query running past
// [queryTimeout] is interrupted and fails. Values map to JSON as INTEGER
// and REAL to numbers (infinities to the strings "Infinity" and
// "-Infinity"), TEXT to strings, BLOB to base64 strings and NULL to null.
//
// # Generating the sample database
//
// Run as `sqlitequery -generate PATH`, it writes the quickstart's sample
// database (customers, products, orders) to PATH, byte for byte the same
// every time; `make tools` writes examples/quickstart/data/sample.db.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/toolwarden/toolwarden/tools/sdk"
	"github.com/toolwarden/toolwarden/tools/sdk/plugin"
)

// databasePath is where the tool's grant mounts the database: the tool
// manifest's mount at /data, holding sample.db.
const databasePath = "/data/sample.db"

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:], os.Stderr))
	}
	plugin.Serve(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var a args
		if err := sdk.Decode(raw, &a); err != nil {
			return nil, err
		}
		return run(ctx, databasePath, a, defaultCaps)
	})
}

// command runs the tool as an ordinary command: only -generate PATH.
func command(argv []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sqlitequery", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("generate", "", "write the quickstart's sample database to `PATH` and exit")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *path == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: sqlitequery -generate PATH (the broker runs it with no arguments)")
		return 2
	}
	if err := generateSample(context.Background(), *path); err != nil {
		fmt.Fprintln(stderr, "sqlitequery:", err)
		return 1
	}
	return 0
}
