package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/itchyny/gojq"
)

// maxResults caps how many values a filter may produce.
const maxResults = 10000

// args is the argument object: {"filter": "...", "input": VALUE}.
type args struct {
	Filter *string         `json:"filter"`
	Input  json.RawMessage `json:"input"`
}

// reply is the result value.
type reply struct {
	Results []json.RawMessage `json:"results"`
}

// run compiles a.Filter with every outside source disabled and collects its
// results over a.Input.
func run(ctx context.Context, a args) (*reply, error) {
	if a.Filter == nil {
		return nil, errors.New(`missing required argument "filter"`)
	}
	if a.Input == nil {
		return nil, errors.New(`missing required argument "input"`)
	}
	input, err := decodeInput(a.Input)
	if err != nil {
		return nil, err
	}
	query, err := gojq.Parse(*a.Filter)
	if err != nil {
		return nil, fmt.Errorf("jq: invalid filter: %w", err)
	}
	code, err := gojq.Compile(query,
		// An empty environment: $ENV and env are {}.
		gojq.WithEnvironLoader(func() []string { return nil }),
	)
	// No WithModuleLoader (import and include fail) and no WithInputIter
	// (input and inputs fail): the filter sees only its input.
	if err != nil {
		return nil, fmt.Errorf("jq: cannot compile filter: %w", err)
	}
	out := &reply{Results: []json.RawMessage{}}
	iter := code.RunWithContext(ctx, input)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break // halt: stop without error
			}
			return nil, fmt.Errorf("jq: %w", err)
		}
		if len(out.Results) == maxResults {
			return nil, fmt.Errorf("jq: the filter produced more than %d results", maxResults)
		}
		b, err := gojq.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("jq: encode result: %w", err)
		}
		out.Results = append(out.Results, b)
	}
	return out, nil
}

// decodeInput decodes the input value keeping numbers exact (gojq accepts
// json.Number).
func decodeInput(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode input: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode input: trailing data")
	}
	return v, nil
}
