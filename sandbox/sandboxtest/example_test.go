package sandboxtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

func ExampleNewRunner() {
	ctx := context.Background()
	r := sandboxtest.NewRunner(func(ctx context.Context, inv sandbox.Invocation) (*sandbox.Result, error) {
		spec, _ := sandboxtest.SpecFromContext(ctx)
		if spec.Tool == "slow" {
			return nil, &sandbox.Error{Code: sandbox.CodeTimeout, Public: "the tool ran past its time limit"}
		}
		return &sandbox.Result{Output: inv.Args}, nil
	})
	lim := sandbox.Limits{Timeout: time.Second, MemoryBytes: 1 << 20, OutputBytes: 1 << 10, MaxStderrBytes: 1 << 10}

	echo, _ := r.Prepare(ctx, sandbox.Spec{Tool: "echo", Path: "/unused", SHA256: "00"})
	res, err := echo.Run(ctx, sandbox.Invocation{Args: []byte(`{"text":"hi"}`), Limits: lim})
	fmt.Println(string(res.Output), err)

	slow, _ := r.Prepare(ctx, sandbox.Spec{Tool: "slow", Path: "/unused", SHA256: "00"})
	_, err = slow.Run(ctx, sandbox.Invocation{Args: []byte(`{}`), Limits: lim})
	fmt.Println(err, len(r.Calls()))
	// Output:
	// {"text":"hi"} <nil>
	// sandbox.timeout: the tool ran past its time limit 2
}
