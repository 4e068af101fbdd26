// Command jq is the toolwarden jq tool: it runs a jq filter (gojq) over a
// JSON value and returns every result, as {"results": [...]}. The filter
// sees only its input: no environment ($ENV and env are empty), no input or
// inputs, no modules and no files. At most [maxResults] results are
// returned; a filter that produces more fails. It is built for GOOS=wasip1
// GOARCH=wasm and speaks tool ABI v1 through tools/sdk; `make tools` builds
// it into build/wasm/jq.wasm.
package main

import (
	"context"
	"encoding/json"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

func main() {
	sdk.Run(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var a args
		if err := sdk.Decode(raw, &a); err != nil {
			return nil, err
		}
		return run(ctx, a)
	})
}
