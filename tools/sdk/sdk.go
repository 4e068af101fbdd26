package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// ABIVersion is the version of the tool protocol this package speaks.
const ABIVersion = 1

// MaxArgsBytes is the most argument bytes [Run] reads from stdin. Larger
// arguments are reported as a tool error; the broker normally refuses them
// long before.
const MaxArgsBytes = 8 << 20

// Func is the body of a tool: it receives the argument object exactly as
// read from stdin and returns a value to encode as the result, or an error
// whose message becomes the envelope's "error".
type Func func(ctx context.Context, args json.RawMessage) (any, error)

// Run reads the arguments from stdin, calls fn, writes the envelope to
// stdout and exits the process with status 0 (1 only if stdout cannot be
// written).
//
// # Notes
//
// Run never returns. The result is encoded with encoding/json without HTML
// escaping; a value that cannot be encoded becomes a tool error.
func Run(fn Func) {
	os.Exit(run(context.Background(), os.Stdin, os.Stdout, fn))
}

// run is Run without the process: it returns the exit status.
func run(ctx context.Context, stdin io.Reader, stdout io.Writer, fn Func) int {
	var out []byte
	data, err := io.ReadAll(io.LimitReader(stdin, MaxArgsBytes+1))
	if err != nil {
		out = errorEnvelope(fmt.Errorf("read arguments: %w", err))
	} else {
		out = Reply(ctx, fn, data)
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return 1
	}
	return 0
}

// Reply runs fn on the argument bytes args and returns the ABI v1 reply
// envelope, {"result": V} or {"error": MSG}, without a trailing newline.
// args must be one JSON object of at most [MaxArgsBytes]; anything else,
// an error from fn, or a result that cannot be encoded becomes
// {"error": ...}. Both the wasm side ([Run]) and the plugin side
// (tools/sdk/plugin) answer through it, and tool authors can use it to test
// a function without a broker.
func Reply(ctx context.Context, fn Func, args []byte) []byte {
	raw, err := checkArgs(args)
	if err == nil {
		var v any
		if v, err = fn(ctx, raw); err == nil {
			var out []byte
			if out, err = resultEnvelope(v); err == nil {
				return out
			}
		}
	}
	return errorEnvelope(err)
}

// checkArgs accepts exactly one JSON object of at most MaxArgsBytes.
func checkArgs(data []byte) (json.RawMessage, error) {
	if len(data) > MaxArgsBytes {
		return nil, fmt.Errorf("arguments exceed %d bytes", MaxArgsBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, errors.New("arguments are not a JSON object")
	}
	return json.RawMessage(trimmed), nil
}

// resultEnvelope encodes {"result": v}.
func resultEnvelope(v any) ([]byte, error) { return abi.Result(v) }

// errorEnvelope encodes {"error": err.Error()}.
func errorEnvelope(err error) []byte { return abi.Failure(err.Error()) }

// Decode decodes the argument object args into v, which must be a non-nil
// pointer, the way [encoding/json.Unmarshal] does but strictly, by the
// broker's own rules (manifests/strictjson.Unmarshal): unknown fields, keys
// matching a field only under case folding, duplicate or case-variant keys
// at any depth, numbers that do not fit their field and trailing data are
// errors.
//
// # Notes
//
// Numbers decoded into an interface are [json.Number], never float64, so
// large integers keep every digit.
func Decode(args json.RawMessage, v any) error {
	if err := strictjson.Unmarshal(args, v, strictjson.Limits{MaxBytes: MaxArgsBytes}); err != nil {
		return fmt.Errorf("decode arguments: %w", err)
	}
	return nil
}
