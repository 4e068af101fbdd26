package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
)

// sampleSchema is the schema of the quickstart's sample database. Dates
// are TEXT (YYYY-MM-DD): the driver would turn columns declared DATE into
// times.
const sampleSchema = `
CREATE TABLE customers (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	email   TEXT NOT NULL UNIQUE,
	country TEXT NOT NULL,
	since   TEXT NOT NULL
);
CREATE TABLE products (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	price_cents INTEGER NOT NULL
);
CREATE TABLE orders (
	id          INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	product_id  INTEGER NOT NULL REFERENCES products(id),
	quantity    INTEGER NOT NULL,
	total_cents INTEGER NOT NULL,
	ordered_on  TEXT NOT NULL
);
CREATE INDEX orders_customer ON orders(customer_id);
`

var (
	sampleFirst     = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret", "Niklaus"}
	sampleLast      = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee", "Hamilton", "Wirth"}
	sampleCountries = []string{"DE", "FR", "GB", "NL", "SE", "US", "CA", "JP"}
	sampleProducts  = []struct {
		name  string
		cents int
	}{
		{"keyboard", 4900}, {"mouse", 1900}, {"monitor", 18900}, {"laptop stand", 3500},
		{"headset", 6900}, {"webcam", 5400}, {"usb hub", 2500}, {"desk lamp", 2900},
	}
)

// Sizes of the sample database.
const (
	sampleCustomers = 50
	sampleOrders    = 400
)

// generateSample writes the sample database to path, replacing any file
// there. The same program writes the same bytes every time: the data come
// from a fixed-seed generator and SQLite's file format has no timestamps.
func generateSample(ctx context.Context, path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("generate sample database: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("generate sample database: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".sample-*.db")
	if err != nil {
		return fmt.Errorf("generate sample database: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // after a successful rename there is nothing to remove
	if err := writeSample(ctx, tmpName); err != nil {
		return fmt.Errorf("generate sample database %s: %w", path, err)
	}
	// Readable by the unprivileged uid a plugin runs as.
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return fmt.Errorf("generate sample database: %w", err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("generate sample database: %w", err)
	}
	return nil
}

// writeSample fills the empty file at path with the sample database.
func writeSample(ctx context.Context, path string) error {
	connector, err := sqlite.NewConnector(fileURI(path, "mode=rw"))
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sampleSchema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	rng := rand.New(rand.NewPCG(2026, 5))
	for i := 1; i <= sampleCustomers; i++ {
		first := sampleFirst[rng.IntN(len(sampleFirst))]
		last := sampleLast[rng.IntN(len(sampleLast))]
		since := fmt.Sprintf("20%02d-%02d-%02d", 18+rng.IntN(8), 1+rng.IntN(12), 1+rng.IntN(28))
		if _, err := tx.ExecContext(ctx, `INSERT INTO customers VALUES (?, ?, ?, ?, ?)`,
			i, first+" "+last, fmt.Sprintf("customer%02d@example.com", i), sampleCountries[rng.IntN(len(sampleCountries))], since); err != nil {
			return fmt.Errorf("insert customer %d: %w", i, err)
		}
	}
	for i, p := range sampleProducts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO products VALUES (?, ?, ?)`, i+1, p.name, p.cents); err != nil {
			return fmt.Errorf("insert product %q: %w", p.name, err)
		}
	}
	for i := 1; i <= sampleOrders; i++ {
		p := rng.IntN(len(sampleProducts))
		qty := 1 + rng.IntN(5)
		on := fmt.Sprintf("2025-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28))
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)`,
			i, 1+rng.IntN(sampleCustomers), p+1, qty, qty*sampleProducts[p].cents, on); err != nil {
			return fmt.Errorf("insert order %d: %w", i, err)
		}
	}
	return tx.Commit()
}
