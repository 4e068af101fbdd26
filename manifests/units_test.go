package manifests

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: `"5s"`, want: 5 * time.Second},
		{in: `"1m30s"`, want: 90 * time.Second},
		{in: `"250ms"`, want: 250 * time.Millisecond},
		{in: `"5x"`, wantErr: `"5x" is not a duration`},
		{in: `"0s"`, wantErr: `"0s" is not positive`},
		{in: `"-1s"`, wantErr: `"-1s" is not positive`},
		{in: `5`, wantErr: `5 is not a duration (write a string such as "5s")`},
	}
	for _, tt := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Duration.UnmarshalJSON(%s) = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || time.Duration(d) != tt.want {
			t.Errorf("Duration.UnmarshalJSON(%s) = %v, %v; want %v", tt.in, time.Duration(d), err, tt.want)
			continue
		}
		roundTripJSON(t, &d, new(Duration))
	}
	if _, err := json.Marshal(Duration(0)); err == nil {
		t.Error("json.Marshal(Duration(0)) succeeded, want an error")
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		str     string
		wantErr string
	}{
		{in: `"64MiB"`, want: 64 << 20, str: "64MiB"},
		{in: `"256KiB"`, want: 256 << 10, str: "256KiB"},
		{in: `"1GiB"`, want: 1 << 30, str: "1GiB"},
		{in: `"2TiB"`, want: 2 << 40, str: "2TiB"},
		{in: `"512B"`, want: 512, str: "512B"},
		{in: `"1024"`, want: 1024, str: "1KiB"},
		{in: `65536`, want: 65536, str: "64KiB"},
		{in: `1536`, want: 1536, str: "1536B"},
		{in: `"64MB"`, wantErr: `"64MB" is not a size (write bytes as an integer or with a unit: B, KiB, MiB, GiB, TiB)`},
		{in: `"64 MiB"`, wantErr: `"64 MiB" is not a size (write bytes as an integer or with a unit: B, KiB, MiB, GiB, TiB)`},
		{in: `"1.5KiB"`, wantErr: `"1.5KiB" is not a size (write bytes as an integer or with a unit: B, KiB, MiB, GiB, TiB)`},
		{in: `0`, wantErr: `"0" is not positive`},
		{in: `-5`, wantErr: `"-5" is not positive`},
		{in: `"9999999TiB"`, wantErr: `"9999999TiB" is too large`},
		{in: `99999999999999999999`, wantErr: `"99999999999999999999" is too large`},
		{in: `true`, wantErr: `"true" is not a size (write bytes as an integer or with a unit: B, KiB, MiB, GiB, TiB)`},
	}
	for _, tt := range tests {
		var s Size
		err := json.Unmarshal([]byte(tt.in), &s)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Size.UnmarshalJSON(%s) = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || int64(s) != tt.want || s.String() != tt.str {
			t.Errorf("Size.UnmarshalJSON(%s) = %d (%s), %v; want %d (%s)", tt.in, int64(s), s, err, tt.want, tt.str)
			continue
		}
		roundTripJSON(t, &s, new(Size))
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr string
	}{
		{in: "30/min", want: Rate{Calls: 30, Window: time.Minute}},
		{in: "1/sec", want: Rate{Calls: 1, Window: time.Second}},
		{in: "100/hour", want: Rate{Calls: 100, Window: time.Hour}},
		{in: "5000/day", want: Rate{Calls: 5000, Window: 24 * time.Hour}},
		{in: "30/minute", wantErr: `"30/minute" has an unknown window "minute" (want sec, min, hour or day)`},
		{in: "0/min", wantErr: `"0/min" allows no calls: the count must be positive`},
		{in: "-1/min", wantErr: `"-1/min" is not a rate (write calls per window: "30/min"; windows: sec, min, hour, day)`},
		{in: "+1/min", wantErr: `"+1/min" is not a rate (write calls per window: "30/min"; windows: sec, min, hour, day)`},
		{in: "30", wantErr: `"30" is not a rate (write calls per window: "30/min"; windows: sec, min, hour, day)`},
		{in: "/min", wantErr: `"/min" is not a rate (write calls per window: "30/min"; windows: sec, min, hour, day)`},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseRate(%q) = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.in {
			t.Errorf("ParseRate(%q) = %+v (%s), %v; want %+v", tt.in, got, got, err, tt.want)
			continue
		}
		roundTripJSON(t, &got, new(Rate))
	}
	if _, err := json.Marshal(Rate{Calls: 1, Window: 7 * time.Second}); err == nil {
		t.Error("json.Marshal of a 7s rate window succeeded, want an error")
	}
}

// roundTripJSON marshals v and unmarshals it into fresh, which must then
// equal v.
func roundTripJSON[T comparable](t *testing.T, v *T, fresh *T) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", *v, err)
	}
	if err := json.Unmarshal(data, fresh); err != nil || *fresh != *v {
		t.Errorf("round trip of %v through %s = %v, %v", *v, data, *fresh, err)
	}
}
