package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Caps of one call. The broker's own limits (timeout, memory, output) stay
// in force; these make the tool stop first, with a clear message or a
// truncated result rather than a killed process.
const (
	maxRows        = 1000      // rows returned; more set "truncated"
	maxResultBytes = 256 << 10 // encoded size of the whole result value
	queryTimeout   = 5 * time.Second
	maxQueryBytes  = 64 << 10 // SQLITE_LIMIT_SQL_LENGTH
	maxValueBytes  = 16 << 20 // SQLITE_LIMIT_LENGTH: one string or blob
)

// caps are the limits of one call; tests shrink them.
type caps struct {
	rows    int
	bytes   int
	timeout time.Duration
}

var defaultCaps = caps{rows: maxRows, bytes: maxResultBytes, timeout: queryTimeout}

// args is the argument object: {"query": "SELECT ..."}.
type args struct {
	Query *string `json:"query"`
}

// reply is the result value. Rows holds each row already encoded as a JSON
// array, so its size is counted exactly once.
type reply struct {
	Columns   []string          `json:"columns"`
	Rows      []json.RawMessage `json:"rows"`
	Truncated bool              `json:"truncated"`
}

// errRefused prefixes every refusal of a query before it runs.
const errRefused = "query refused: "

// deniedFunctions are SQL functions that reach outside the database or
// change the connection; the authorizer refuses them by name.
var deniedFunctions = map[string]bool{
	"load_extension": true,
	"fts3_tokenizer": true,
	"readfile":       true,
	"writefile":      true,
	"edit":           true,
}

// run executes one read-only query against the SQLite database at path and
// returns at most c.rows rows and c.bytes bytes of result.
func run(ctx context.Context, path string, a args, c caps) (*reply, error) {
	if a.Query == nil {
		return nil, errors.New(`missing required argument "query"`)
	}
	if err := checkQuery(*a.Query); err != nil {
		return nil, err
	}
	return execute(ctx, path, *a.Query, c)
}

// execute runs query under the authorizer, with the caps of c. The
// authorizer alone refuses every write, whatever checkQuery let through.
func execute(ctx context.Context, path, query string, c caps) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	conn, closeDB, err := open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer closeDB()

	var auth authorizer
	if err := conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T has no authorizer", dc)
		}
		return r.RegisterAuthorizer(auth.decide)
	}); err != nil {
		return nil, fmt.Errorf("install the authorizer: %w", err)
	}

	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, queryError(ctx, &auth, c, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("read the result columns: %w", err)
	}
	out := &reply{Columns: names, Rows: []json.RawMessage{}}
	head, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode the result columns: %w", err)
	}
	used := len(head)
	if used > c.bytes {
		return nil, fmt.Errorf("the result's column names alone take %d bytes, over the %d-byte cap", used, c.bytes)
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if len(out.Rows) == c.rows {
			out.Truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read row %d: %w", len(out.Rows)+1, err)
		}
		row, err := encodeRow(vals)
		if err != nil {
			return nil, fmt.Errorf("encode row %d: %w", len(out.Rows)+1, err)
		}
		sep := 0
		if len(out.Rows) > 0 {
			sep = 1 // the comma between rows
		}
		if used+sep+len(row) > c.bytes {
			out.Truncated = true
			break
		}
		used += sep + len(row)
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, queryError(ctx, &auth, c, err)
	}
	return out, nil
}

// open opens the database read-only and immutable (no locks, no journal,
// no -wal or -shm files: the file sits on a read-only mount) and returns
// one connection, restricted for untrusted SQL: query_only, no trusted
// schema, no attached databases, and caps on statement and value sizes.
func open(ctx context.Context, path string) (*sql.Conn, func(), error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no database at %s (the tool's grant must mount the directory holding it read-only at %s): %w", path, filepath.Dir(path), err)
	}
	// _error_rc: report SQLite's error for the failing operation only.
	connector, err := sqlite.NewConnector(fileURI(path, "mode=ro&immutable=1&_error_rc=1"))
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	closeDB := func() {
		conn.Close()
		db.Close()
	}
	for _, p := range []string{"PRAGMA query_only = ON", "PRAGMA trusted_schema = OFF"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			closeDB()
			return nil, nil, fmt.Errorf("open database: %s: %w", p, err)
		}
	}
	for _, l := range []struct{ id, value int }{
		{sqlite3.SQLITE_LIMIT_ATTACHED, 0},
		{sqlite3.SQLITE_LIMIT_SQL_LENGTH, maxQueryBytes},
		{sqlite3.SQLITE_LIMIT_LENGTH, maxValueBytes},
		{sqlite3.SQLITE_LIMIT_WORKER_THREADS, 0},
	} {
		if _, err := sqlite.Limit(conn, l.id, l.value); err != nil {
			closeDB()
			return nil, nil, fmt.Errorf("open database: set limit %d: %w", l.id, err)
		}
	}
	return conn, closeDB, nil
}

// fileURI returns the SQLite URI of the file at path (made absolute: a
// relative "file:" URI would name an authority) with the query params.
func fileURI(path, params string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return (&url.URL{Scheme: "file", Path: path, RawQuery: params}).String()
}

// queryError turns a failure to prepare or step the query into the message
// the caller sees.
func queryError(ctx context.Context, auth *authorizer, c caps, err error) error {
	if why := auth.refusal(); why != "" {
		return errors.New(errRefused + why)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("query interrupted: it ran past the %s time limit", c.timeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("query interrupted: %w", ctx.Err())
	}
	return fmt.Errorf("query failed: %w", err)
}

// authorizer is SQLite's statement authorizer for the user's query: it
// lets a statement read tables and call functions, and nothing else. It
// refuses writes of any kind, ATTACH and DETACH, PRAGMA (table-valued
// pragma functions included), transactions, savepoints, schema changes,
// and the functions in deniedFunctions. It is installed after the
// connection is set up, so it sees only the user's statement.
type authorizer struct {
	mu  sync.Mutex // guards why
	why string     // the first refusal, for the caller
}

func (a *authorizer) decide(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthRecursive:
		return sqlite.AuthorizerOK
	case sqlite.AuthFunction:
		if !deniedFunctions[strings.ToLower(arg2)] {
			return sqlite.AuthorizerOK
		}
		a.refuse("function " + arg2 + "() is not allowed")
		return sqlite.AuthorizerDeny
	case sqlite.AuthPragma:
		a.refuse("PRAGMA " + arg1 + " is not allowed")
	case sqlite.AuthAttach, sqlite.AuthDetach:
		a.refuse("ATTACH and DETACH are not allowed")
	case sqlite.AuthTransaction, sqlite.AuthSavepoint:
		a.refuse("transactions are not allowed")
	default:
		a.refuse("only reads are allowed (the statement would change the database or the connection)")
	}
	return sqlite.AuthorizerDeny
}

func (a *authorizer) refuse(why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.why == "" {
		a.why = why
	}
}

func (a *authorizer) refusal() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.why
}

// encodeRow encodes one row as a JSON array: INTEGER and REAL as numbers
// (±Inf as the strings "Infinity" and "-Infinity"), TEXT as strings (the
// driver turns TEXT in columns declared DATE, DATETIME or TIMESTAMP into
// times, which come back in RFC 3339 form), BLOB as base64 strings, NULL
// as null.
func encodeRow(vals []any) (json.RawMessage, error) {
	row := make([]any, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case float64:
			switch {
			case math.IsInf(x, 1):
				row[i] = "Infinity"
			case math.IsInf(x, -1):
				row[i] = "-Infinity"
			case math.IsNaN(x):
				row[i] = nil // SQLite has no NaN; keep encoding total
			default:
				row[i] = x
			}
		case time.Time:
			row[i] = x.Format(time.RFC3339Nano)
		default:
			row[i] = x // int64, string, []byte, nil
		}
	}
	return json.Marshal(row)
}
