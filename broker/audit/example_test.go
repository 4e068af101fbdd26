package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.log")

	l, err := audit.Open(path, audit.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tool := range []string{"echo", "http_fetch"} {
		r := &audit.Record{
			Time:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
			Tenant:   "acme",
			Subject:  "alice",
			Tool:     tool,
			Decision: audit.DecisionAllow,
			Outcome:  audit.OutcomeOK,
		}
		// Append returns once the record is durable.
		if err := l.Append(context.Background(), r); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("seq %d: %s\n", r.Seq, tool)
	}
	if err := l.Close(); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := audit.Verify(path, audit.VerifyConfig{})
	fmt.Println(rep.Records, "records verified, error:", err)
	// Output:
	// seq 1: echo
	// seq 2: http_fetch
	// 2 records verified, error: <nil>
}

func ExampleVerify() {
	log := `{"seq":1,"time":"2026-03-01T12:00:00Z","tenant":"acme","tool":"echo","decision":"allow","prev":"","hash":"0000"}` + "\n"
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	_, err = audit.Verify(path, audit.VerifyConfig{})
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		fmt.Println(ve.Line, ve.Kind)
	}
	// Output:
	// 1 edited
}
