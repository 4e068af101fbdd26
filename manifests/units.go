package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// String returns the duration in Go syntax, e.g. "5s" or "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes d as a Go duration string ("5s"), the form
// [Duration.UnmarshalJSON] reads.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d <= 0 {
		return nil, fmt.Errorf("duration %s is not positive", time.Duration(d))
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON decodes a positive Go duration string such as "5s",
// "250ms" or "1m30s". Numbers, zero and negative durations are refused.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := strictjson.Unmarshal(b, &s, strictjson.Limits{MaxBytes: len(b)}); err != nil {
		return fmt.Errorf("%s is not a duration (write a string such as \"5s\")", clip(string(b)))
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%s is not a duration", strconv.Quote(clip(s)))
	}
	if v <= 0 {
		return fmt.Errorf("%s is not positive", strconv.Quote(clip(s)))
	}
	*d = Duration(v)
	return nil
}

// Binary size units, largest first.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"TiB", 1 << 40},
	{"GiB", 1 << 30},
	{"MiB", 1 << 20},
	{"KiB", 1 << 10},
	{"B", 1},
}

// String returns the size with the largest binary unit that divides it
// exactly, e.g. "64MiB", "1536B".
func (s Size) String() string {
	for _, u := range sizeUnits {
		if s != 0 && int64(s)%u.bytes == 0 {
			return strconv.FormatInt(int64(s)/u.bytes, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalJSON encodes s as a string with a binary unit ("64MiB"), the form
// [Size.UnmarshalJSON] reads.
func (s Size) MarshalJSON() ([]byte, error) {
	if s <= 0 {
		return nil, fmt.Errorf("size %d is not positive", int64(s))
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON decodes a positive number of bytes written as an integer
// (65536) or a string of digits with an optional binary unit suffix: "B",
// "KiB", "MiB", "GiB" or "TiB" ("64MiB"). Decimal units ("64MB"), fractions,
// zero and negative sizes are refused.
func (s *Size) UnmarshalJSON(b []byte) error {
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := strictjson.Unmarshal(b, &text, strictjson.Limits{MaxBytes: len(b)}); err != nil {
			return fmt.Errorf("%s is not a size", clip(string(b)))
		}
	}
	v, err := parseSize(text)
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

func parseSize(text string) (int64, error) {
	bad := fmt.Errorf("%s is not a size (write bytes as an integer or with a unit: B, KiB, MiB, GiB, TiB)", strconv.Quote(clip(text)))
	digits := 0
	for digits < len(text) && text[digits] >= '0' && text[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		if strings.HasPrefix(text, "-") {
			return 0, fmt.Errorf("%s is not positive", strconv.Quote(clip(text)))
		}
		return 0, bad
	}
	n, err := strconv.ParseInt(text[:digits], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is too large", strconv.Quote(clip(text)))
	}
	unit := int64(1)
	if suffix := text[digits:]; suffix != "" {
		found := false
		for _, u := range sizeUnits {
			if suffix == u.suffix {
				unit, found = u.bytes, true
				break
			}
		}
		if !found {
			return 0, bad
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%s is not positive", strconv.Quote(clip(text)))
	}
	if n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%s is too large", strconv.Quote(clip(text)))
	}
	return n * unit, nil
}

// Rate windows by name.
var rateWindows = []struct {
	name   string
	window time.Duration
}{
	{"sec", time.Second},
	{"min", time.Minute},
	{"hour", time.Hour},
	{"day", 24 * time.Hour},
}

// ParseRate parses a rate written "N/sec", "N/min", "N/hour" or "N/day",
// with N a positive integer.
func ParseRate(s string) (Rate, error) {
	n, unit, ok := strings.Cut(s, "/")
	calls, err := strconv.Atoi(n)
	if !ok || err != nil || n == "" || n[0] < '0' || n[0] > '9' {
		return Rate{}, fmt.Errorf("%s is not a rate (write calls per window: \"30/min\"; windows: sec, min, hour, day)", strconv.Quote(clip(s)))
	}
	if calls <= 0 {
		return Rate{}, fmt.Errorf("%s allows no calls: the count must be positive", strconv.Quote(clip(s)))
	}
	for _, w := range rateWindows {
		if unit == w.name {
			return Rate{Calls: calls, Window: w.window}, nil
		}
	}
	return Rate{}, fmt.Errorf("%s has an unknown window %q (want sec, min, hour or day)", strconv.Quote(clip(s)), clip(unit))
}

// String returns the rate as "N/window", e.g. "30/min".
func (r Rate) String() string {
	for _, w := range rateWindows {
		if r.Window == w.window {
			return strconv.Itoa(r.Calls) + "/" + w.name
		}
	}
	return strconv.Itoa(r.Calls) + "/" + r.Window.String()
}

// MarshalJSON encodes r as "N/window", the form [Rate.UnmarshalJSON] reads.
// A window other than a second, minute, hour or day is an error.
func (r Rate) MarshalJSON() ([]byte, error) {
	if r.Calls <= 0 {
		return nil, errors.New("rate allows no calls")
	}
	for _, w := range rateWindows {
		if r.Window == w.window {
			return json.Marshal(r.String())
		}
	}
	return nil, fmt.Errorf("rate window %s is not a second, minute, hour or day", r.Window)
}

// UnmarshalJSON decodes a string written as [ParseRate] reads it.
func (r *Rate) UnmarshalJSON(b []byte) error {
	var s string
	if err := strictjson.Unmarshal(b, &s, strictjson.Limits{MaxBytes: len(b)}); err != nil {
		return fmt.Errorf("%s is not a rate (write a string such as \"30/min\")", clip(string(b)))
	}
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}
