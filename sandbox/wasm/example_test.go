package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
)

func ExampleRunner() {
	ctx := context.Background()
	// A module with no language runtime that replies {"result":"nop"};
	// a real tool is built with GOOS=wasip1 GOARCH=wasm (see tools/sdk).
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	bin := nopModule.bytes()
	path := filepath.Join(dir, "nop.wasm")
	_ = os.WriteFile(path, bin, 0o600)
	sum := sha256.Sum256(bin)

	r, err := New(Config{}) // in-memory compilation cache
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(ctx)
	prog, err := r.Prepare(ctx, sandbox.Spec{Tool: "nop", Path: path, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := prog.Run(ctx, sandbox.Invocation{
		Args:   []byte(`{}`),
		Limits: sandbox.Limits{Timeout: 10 * time.Second, MemoryBytes: 16 << 20, OutputBytes: 1 << 10, MaxStderrBytes: 1 << 10},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s\n", r.Kind(), res.Output)
	// Output: wasm "nop"
}
