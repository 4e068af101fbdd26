package main

import (
	"context"
	"encoding/json"
	"testing"
)

func TestEcho(t *testing.T) {
	for _, tc := range []struct{ in, want, wantErr string }{
		{in: `{"text":"héllo <&>"}`, want: `{"text":"héllo \u003c\u0026\u003e"}`},
		{in: `{"text":""}`, want: `{"text":""}`},
		{in: `{}`, wantErr: `missing required argument "text"`},
		{in: `{"text":null}`, wantErr: `missing required argument "text"`},
		{in: `{"Text":"x"}`, wantErr: `decode arguments: member "Text" differs from "text" only in case; names are case-sensitive at /Text (offset 1)`},
	} {
		got, err := echo(context.Background(), json.RawMessage(tc.in))
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("echo(%s) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		b, _ := json.Marshal(got)
		if err != nil || string(b) != tc.want {
			t.Errorf("echo(%s) = %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
}
