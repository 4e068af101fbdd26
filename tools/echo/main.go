// Command echo is the toolwarden echo tool: it returns its "text" argument
// unchanged, as {"text": TEXT}. It is built for GOOS=wasip1 GOARCH=wasm and
// speaks tool ABI v1 through tools/sdk; `make tools` builds it into
// build/wasm/echo.wasm.
package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

// args is the argument object: {"text": "..."}.
type args struct {
	Text *string `json:"text"`
}

// reply is the result value.
type reply struct {
	Text string `json:"text"`
}

func main() {
	sdk.Run(echo)
}

func echo(_ context.Context, raw json.RawMessage) (any, error) {
	var a args
	if err := sdk.Decode(raw, &a); err != nil {
		return nil, err
	}
	if a.Text == nil {
		return nil, errors.New(`missing required argument "text"`)
	}
	return reply{Text: *a.Text}, nil
}
