package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolwarden/toolwarden/tools/sdk"
	"github.com/toolwarden/toolwarden/tools/sdk/plugin"
)

var (
	sampleOnce sync.Once
	sampleDir  string
	sampleErr  error
)

// samplePath returns a sample database generated once per test process, in
// a directory of its own (which TestMain removes).
func samplePath(t testing.TB) string {
	t.Helper()
	sampleOnce.Do(func() {
		if sampleDir, sampleErr = os.MkdirTemp("", "sqlitequery-"); sampleErr != nil {
			return
		}
		// Traversable by the unprivileged uid a plugin runs as.
		if sampleErr = os.Chmod(sampleDir, 0o755); sampleErr == nil {
			sampleErr = generateSample(context.Background(), filepath.Join(sampleDir, "sample.db"))
		}
	})
	if sampleErr != nil {
		t.Fatalf("generate sample: %v", sampleErr)
	}
	return filepath.Join(sampleDir, "sample.db")
}

// call runs the tool's body the way the plugin service does and returns
// the reply envelope.
func call(t *testing.T, path, argsJSON string, c caps) string {
	t.Helper()
	fn := func(ctx context.Context, raw json.RawMessage) (any, error) {
		var a args
		if err := sdk.Decode(raw, &a); err != nil {
			return nil, err
		}
		return run(ctx, path, a, c)
	}
	return string(plugin.Invoke(context.Background(), fn, []byte(argsJSON)))
}

func queryArgs(q string) string {
	b, _ := json.Marshal(map[string]string{"query": q})
	return string(b)
}

func TestQuery(t *testing.T) {
	db := samplePath(t)
	tests := []struct {
		name, query, want string
	}{
		{"select", `SELECT id, name, price_cents FROM products WHERE id <= 2 ORDER BY id`,
			`{"result":{"columns":["id","name","price_cents"],"rows":[[1,"keyboard",4900],[2,"mouse",1900]],"truncated":false}}`},
		{"join and aggregate", `SELECT p.name, sum(o.quantity) AS units FROM orders o JOIN products p ON p.id = o.product_id WHERE p.id = 3 GROUP BY p.name`,
			`{"result":{"columns":["name","units"],"rows":[["monitor",193]],"truncated":false}}`},
		{"no rows", `SELECT id FROM customers WHERE id < 0`,
			`{"result":{"columns":["id"],"rows":[],"truncated":false}}`},
		{"values and types", `VALUES (1, 2.5, 'x', x'00ff', NULL, 1e999, -1e999)`,
			`{"result":{"columns":["column1","column2","column3","column4","column5","column6","column7"],"rows":[[1,2.5,"x","AP8=",null,"Infinity","-Infinity"]],"truncated":false}}`},
		{"with", `WITH t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 3) SELECT x FROM t`,
			`{"result":{"columns":["x"],"rows":[[1],[2],[3]],"truncated":false}}`},
		{"trailing semicolon and comments", "-- count\nSELECT count(*) AS n FROM customers; /* done */ -- really",
			`{"result":{"columns":["n"],"rows":[[50]],"truncated":false}}`},
		{"semicolon inside literals", `SELECT ';' AS "a;b", [c;d] FROM (SELECT 1 AS [c;d])`,
			`{"result":{"columns":["a;b","c;d"],"rows":[[";",1]],"truncated":false}}`},
		{"schema is readable", `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`,
			`{"result":{"columns":["name"],"rows":[["customers"],["orders"],["products"]],"truncated":false}}`},
		{"json functions", `SELECT json_object('n', 1) AS j`,
			`{"result":{"columns":["j"],"rows":[["{\"n\":1}"]],"truncated":false}}`},

		{"insert", `INSERT INTO products VALUES (99, 'x', 1)`,
			`{"error":"query refused: only a read statement (SELECT, WITH or VALUES) may run, not \"INSERT\""}`},
		{"write in a CTE", `WITH x AS (SELECT 1) DELETE FROM orders`,
			`{"error":"query refused: only reads are allowed (the statement would change the database or the connection)"}`},
		{"second statement", `SELECT 1; DELETE FROM orders`,
			`{"error":"query refused: only one statement may run (found text after ';')"}`},
		{"second read statement", `SELECT 1;SELECT 2`,
			`{"error":"query refused: only one statement may run (found text after ';')"}`},
		{"attach", `ATTACH DATABASE '/tmp/x.db' AS x`,
			`{"error":"query refused: only a read statement (SELECT, WITH or VALUES) may run, not \"ATTACH\""}`},
		{"pragma write", `PRAGMA query_only = OFF`,
			`{"error":"query refused: only a read statement (SELECT, WITH or VALUES) may run, not \"PRAGMA\""}`},
		{"pragma function", `SELECT * FROM pragma_table_info('orders')`,
			`{"error":"query refused: PRAGMA table_info is not allowed"}`},
		{"load_extension", `SELECT load_extension('/tmp/evil.so')`,
			`{"error":"query refused: function load_extension() is not allowed"}`},
		{"load_extension in a subquery", `SELECT (SELECT LOAD_EXTENSION('x')) FROM products`,
			`{"error":"query refused: function load_extension() is not allowed"}`},
		{"vacuum into", `VACUUM INTO '/tmp/copy.db'`,
			`{"error":"query refused: only a read statement (SELECT, WITH or VALUES) may run, not \"VACUUM\""}`},
		{"begin", `BEGIN`,
			`{"error":"query refused: only a read statement (SELECT, WITH or VALUES) may run, not \"BEGIN\""}`},
		{"quoted first token", `[a;b] SELECT 1`,
			`{"error":"query refused: only a read statement (SELECT, WITH or VALUES) may run, not \"[a;b]\""}`},
		{"comment only", `-- nothing`,
			`{"error":"query refused: the query holds no statement"}`},
		{"empty", ``,
			`{"error":"query refused: the query holds no statement"}`},
		{"NUL byte", "SELECT 1\x00; DROP TABLE orders",
			`{"error":"query refused: the query contains a NUL byte"}`},
		{"syntax error", `SELECT FROM`,
			`{"error":"query failed: SQL logic error: near \"FROM\": syntax error (1)"}`},
		{"unknown table", `SELECT * FROM secrets`,
			`{"error":"query failed: SQL logic error: no such table: secrets (1)"}`},
		{"blob too big", `SELECT randomblob(100000000)`,
			`{"error":"query failed: string or blob too big (18)"}`},

		{"missing query", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := queryArgs(tt.query)
			want := tt.want
			if tt.name == "missing query" {
				a, want = `{}`, `{"error":"missing required argument \"query\""}`
			}
			if got := call(t, db, a, defaultCaps); got != want {
				t.Errorf("query %q:\n got %s\nwant %s", tt.query, got, want)
			}
		})
	}
}

// TestAuthorizer runs statements past checkQuery, straight into the
// authorizer: it alone must refuse every write and every way out.
func TestAuthorizer(t *testing.T) {
	db := samplePath(t)
	for _, tt := range []struct{ query, want string }{
		{`DELETE FROM orders`, "only reads are allowed (the statement would change the database or the connection)"},
		{`CREATE TEMP TABLE t(x)`, "only reads are allowed (the statement would change the database or the connection)"},
		{`ATTACH DATABASE '/tmp/x.db' AS x`, "ATTACH and DETACH are not allowed"},
		{`VACUUM INTO '/tmp/sqlitequery-copy.db'`, "ATTACH and DETACH are not allowed"},
		{`PRAGMA query_only = OFF`, "PRAGMA query_only is not allowed"},
		{`PRAGMA table_info(orders)`, "PRAGMA table_info is not allowed"},
		{`BEGIN`, "transactions are not allowed"},
		{`SAVEPOINT s`, "transactions are not allowed"},
		{`ANALYZE`, "only reads are allowed (the statement would change the database or the connection)"},
		{`SELECT load_extension('x')`, "function load_extension() is not allowed"},
	} {
		_, err := execute(context.Background(), db, tt.query, defaultCaps)
		if want := errRefused + tt.want; err == nil || err.Error() != want {
			t.Errorf("execute(%q) error = %v, want %q", tt.query, err, want)
		}
	}
	if _, err := os.Stat("/tmp/sqlitequery-copy.db"); err == nil {
		t.Errorf("VACUUM INTO wrote /tmp/sqlitequery-copy.db")
	}
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	if err := os.WriteFile(path, []byte("just some text, long enough to hold a header, or not at all......................................."), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := execute(context.Background(), path, `SELECT 1 FROM sqlite_schema`, defaultCaps)
	if want := "open database " + path + ": file is not a database (26)"; err == nil || err.Error() != want {
		t.Errorf("query on a text file error = %v, want %q", err, want)
	}
}

func TestArguments(t *testing.T) {
	db := samplePath(t)
	for _, tt := range []struct{ args, want string }{
		{`{"query":"SELECT 1","database":"/etc/passwd"}`, `{"error":"decode arguments: unknown member \"database\" at /database (offset 20)"}`},
		{`{"Query":"SELECT 1"}`, `{"error":"decode arguments: member \"Query\" differs from \"query\" only in case; names are case-sensitive at /Query (offset 1)"}`},
		{`{"query":1}`, `{"error":"decode arguments: must be a string, not a number at /query (offset 9)"}`},
	} {
		if got := call(t, db, tt.args, defaultCaps); got != tt.want {
			t.Errorf("call(%s) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

// result decodes a successful envelope.
func result(t *testing.T, envelope string) reply {
	t.Helper()
	var env struct {
		Result *reply `json:"result"`
	}
	if err := json.Unmarshal([]byte(envelope), &env); err != nil || env.Result == nil {
		t.Fatalf("envelope %.300s: not a result (%v)", envelope, err)
	}
	return *env.Result
}

func TestCaps(t *testing.T) {
	db := samplePath(t)
	t.Run("rows", func(t *testing.T) {
		r := result(t, call(t, db, queryArgs(`SELECT id FROM orders ORDER BY id`), caps{rows: 10, bytes: 1 << 20, timeout: time.Minute}))
		if len(r.Rows) != 10 || !r.Truncated || string(r.Rows[9]) != "[10]" {
			t.Errorf("rows = %d (last %s), truncated = %v; want 10 rows ending [10], truncated", len(r.Rows), r.Rows[len(r.Rows)-1], r.Truncated)
		}
	})
	t.Run("exactly the row cap", func(t *testing.T) {
		r := result(t, call(t, db, queryArgs(`SELECT id FROM orders WHERE id <= 10`), caps{rows: 10, bytes: 1 << 20, timeout: time.Minute}))
		if len(r.Rows) != 10 || r.Truncated {
			t.Errorf("rows = %d, truncated = %v; want 10, not truncated", len(r.Rows), r.Truncated)
		}
	})
	t.Run("default row cap", func(t *testing.T) {
		env := call(t, db, queryArgs(`WITH t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 5000) SELECT x FROM t`), defaultCaps)
		r := result(t, env)
		if len(r.Rows) != maxRows || !r.Truncated {
			t.Errorf("rows = %d, truncated = %v; want %d, truncated", len(r.Rows), r.Truncated, maxRows)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		const limit = 1024
		env := call(t, db, queryArgs(`SELECT name, email FROM customers ORDER BY id`), caps{rows: 1000, bytes: limit, timeout: time.Minute})
		r := result(t, env)
		b, _ := json.Marshal(r)
		if !r.Truncated || len(r.Rows) == 0 || len(r.Rows) == 50 || len(b) > limit {
			t.Errorf("rows = %d, truncated = %v, %d bytes; want some rows, truncated, at most %d bytes", len(r.Rows), r.Truncated, len(b), limit)
		}
		// One more row would not have fitted.
		more, _ := json.Marshal(map[string]any{"columns": r.Columns, "rows": append(r.Rows, r.Rows[0]), "truncated": true})
		if len(more) <= limit {
			t.Errorf("result stopped at %d bytes with room for another row (%d <= %d)", len(b), len(more), limit)
		}
	})
	t.Run("default byte cap", func(t *testing.T) {
		env := call(t, db, queryArgs(`WITH t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 100) SELECT x, hex(zeroblob(3000)) FROM t`), defaultCaps)
		r := result(t, env)
		b, _ := json.Marshal(r)
		if !r.Truncated || len(b) > maxResultBytes || len(r.Rows) >= 100 {
			t.Errorf("rows = %d, truncated = %v, %d bytes; want truncated at most %d bytes", len(r.Rows), r.Truncated, len(b), maxResultBytes)
		}
	})
	t.Run("one row over the cap", func(t *testing.T) {
		r := result(t, call(t, db, queryArgs(`SELECT hex(zeroblob(1000))`), caps{rows: 10, bytes: 512, timeout: time.Minute}))
		if len(r.Rows) != 0 || !r.Truncated {
			t.Errorf("rows = %d, truncated = %v; want none, truncated", len(r.Rows), r.Truncated)
		}
	})
	t.Run("time", func(t *testing.T) {
		got := call(t, db, queryArgs(`WITH RECURSIVE t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t) SELECT count(*) FROM t`), caps{rows: 10, bytes: 1 << 20, timeout: 50 * time.Millisecond})
		if want := `{"error":"query interrupted: it ran past the 50ms time limit"}`; got != want {
			t.Errorf("endless query = %s, want %s", got, want)
		}
	})
}

// TestReadOnly checks the database file is never written, even through a
// statement the checks would let past (there is none; this is the floor).
func TestReadOnly(t *testing.T) {
	src := samplePath(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sample.db")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, data, 0o444); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM orders`, `SELECT 1; DELETE FROM orders`, `WITH x AS (SELECT 1) UPDATE orders SET quantity = 0`, `CREATE TABLE t(x)`} {
		if got := call(t, db, queryArgs(q), defaultCaps); !strings.HasPrefix(got, `{"error":"query refused: `) {
			t.Errorf("query %q = %s, want a refusal", q, got)
		}
	}
	after, err := os.ReadFile(db)
	if err != nil || string(after) != string(data) {
		t.Errorf("database changed (err %v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the database (no journal or -wal files)", len(entries))
	}
}

func TestMissingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")
	got := call(t, path, queryArgs(`SELECT 1`), defaultCaps)
	want := `{"error":"no database at ` + path + ` (the tool's grant must mount the directory holding it read-only at ` + filepath.Dir(path) + `): stat ` + path + `: no such file or directory"}`
	if got != want {
		t.Errorf("query on a missing database = %s, want %s", got, want)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("query created %s", path)
	}
}

func TestGenerateSampleDeterministic(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a.db"), filepath.Join(t.TempDir(), "nested", "b.db")
	for _, p := range []string{a, b} {
		if err := generateSample(context.Background(), p); err != nil {
			t.Fatalf("generateSample(%s) error = %v", p, err)
		}
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || string(x) != string(y) {
		t.Errorf("two generations differ (%d and %d bytes)", len(x), len(y))
	}
	fi, err := os.Stat(b)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("sample mode = %v (%v), want 0644 so an unprivileged plugin can read it", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(b))
	if len(entries) != 1 {
		t.Errorf("generation left %d files behind, want only the database", len(entries))
	}
}

// TestPaths checks paths that are relative or hold URI punctuation reach
// SQLite as the same file.
func TestPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	if err := generateSample(context.Background(), filepath.Join(dir, "s.db")); err != nil {
		t.Fatalf("generateSample error = %v", err)
	}
	t.Chdir(dir)
	if err := generateSample(context.Background(), "rel.db"); err != nil {
		t.Fatalf("generateSample(rel.db) error = %v", err)
	}
	for _, p := range []string{"s.db", filepath.Join(dir, "s.db"), "rel.db"} {
		got := call(t, p, queryArgs(`SELECT count(*) FROM customers`), defaultCaps)
		if want := `{"result":{"columns":["count(*)"],"rows":[[50]],"truncated":false}}`; got != want {
			t.Errorf("query on %q = %s, want %s", p, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%s holds %d entries, want the two databases", dir, len(entries))
	}
}

func TestCommand(t *testing.T) {
	var stderr strings.Builder
	if got := command([]string{"-generate", filepath.Join(t.TempDir(), "s.db")}, &stderr); got != 0 || stderr.Len() != 0 {
		t.Errorf("command(-generate PATH) = %d, stderr %q; want 0 and nothing", got, stderr.String())
	}
	for _, argv := range [][]string{{"-generate"}, {"-generate", "x", "extra"}, {"-bogus"}, {""}} {
		stderr.Reset()
		if got := command(argv, &stderr); got != 2 || !strings.Contains(stderr.String(), "usage: sqlitequery -generate PATH") && !strings.Contains(stderr.String(), "-generate PATH") {
			t.Errorf("command(%q) = %d, stderr %q; want 2 and the usage", argv, got, stderr.String())
		}
	}
	stderr.Reset()
	if got := command([]string{"-generate", "/proc/sqlitequery/s.db"}, &stderr); got != 1 || !strings.HasPrefix(stderr.String(), "sqlitequery: generate sample database: ") {
		t.Errorf("command(-generate /proc/...) = %d, stderr %q; want 1 and the error", got, stderr.String())
	}
}
