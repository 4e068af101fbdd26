package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name, filter, input string
		want, wantErr       string
	}{
		{name: "identity", filter: ".", input: `{"a":1}`, want: `{"results":[{"a":1}]}`},
		{name: "stream", filter: ".[]", input: `[1,"x",null]`, want: `{"results":[1,"x",null]}`},
		{name: "exact big integer", filter: ".", input: `100000000000000000000001`, want: `{"results":[100000000000000000000001]}`},
		{name: "no environment", filter: "[$ENV, env]", input: `null`, want: `{"results":[[{},{}]]}`},
		{name: "no input", filter: "input", input: `1`, wantErr: "jq: cannot compile filter: input(s)/0 is not allowed"},
		{name: "no modules", filter: `include "x"; .`, input: `1`, wantErr: `jq: cannot compile filter: cannot load module: "x"`},
		{name: "parse error", filter: "{", input: `1`, wantErr: "jq: invalid filter: unexpected EOF"},
		{name: "result cap", filter: "range(10001)", input: `null`, wantErr: "jq: the filter produced more than 10000 results"},
		{name: "error", filter: `error("boom")`, input: `null`, wantErr: "jq: error: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			filter := tc.filter
			out, err := run(context.Background(), args{Filter: &filter, Input: json.RawMessage(tc.input)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run(%q) error = %v, want %q", tc.filter, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("run(%q) error = %v", tc.filter, err)
			}
			got, _ := json.Marshal(out)
			if string(got) != tc.want {
				t.Errorf("run(%q) = %s, want %s", tc.filter, got, tc.want)
			}
		})
	}
}
