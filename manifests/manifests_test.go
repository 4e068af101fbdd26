package manifests

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden *.err files of testdata/invalid")

// parseFixture parses a fixture as a role if its name starts with "role-",
// else as a tool, and returns the manifest (for the round trip) or the
// error.
func parseFixture(t *testing.T, path string) (any, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.ToSlash(path)
	if strings.HasPrefix(filepath.Base(path), "role-") {
		r, err := ParseRole(data, file)
		if r == nil {
			return nil, err
		}
		return r, err
	}
	tool, err := ParseTool(data, file)
	if tool == nil {
		return nil, err
	}
	return tool, err
}

func fixtures(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yaml", "*.json"} {
		m, err := filepath.Glob(filepath.Join("testdata", dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return files
}

func TestValidFixtures(t *testing.T) {
	for _, path := range fixtures(t, "valid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := parseFixture(t, path)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			roundTrip(t, m)
		})
	}
}

// roundTrip checks that a parsed manifest, encoded with encoding/json,
// parses back to an equal manifest.
func roundTrip(t *testing.T, m any) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	switch m := m.(type) {
	case *Tool:
		again, err := ParseTool(data, m.File)
		if err != nil {
			t.Fatalf("ParseTool(json.Marshal(tool)) = %v\n%s", err, data)
		}
		a, b := *m, *again
		a.schema, b.schema = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the tool:\n got %+v\nwant %+v\n%s", b, a, data)
		}
	case *Role:
		again, err := ParseRole(data, m.File)
		if err != nil {
			t.Fatalf("ParseRole(json.Marshal(role)) = %v\n%s", err, data)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the role:\n got %+v\nwant %+v\n%s", again, m, data)
		}
	}
}

func TestInvalidFixtures(t *testing.T) {
	for _, path := range fixtures(t, "invalid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := parseFixture(t, path)
			if err == nil {
				t.Fatalf("parse %s succeeded (%+v), want an error", path, m)
			}
			var le *LoadError
			if !errors.As(err, &le) || le.ReasonCode() != CodeInvalid || len(le.Problems) == 0 {
				t.Fatalf("parse %s error = %#v, want a *LoadError with problems", path, err)
			}
			for _, p := range le.Problems {
				if p.File != filepath.ToSlash(path) {
					t.Errorf("problem %q names file %q, want %q", p, p.File, filepath.ToSlash(path))
				}
			}
			golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".err"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("read golden (run go test -update to create it): %v", rerr)
			}
			if got != string(want) {
				t.Errorf("parse %s error:\n%s\nwant (%s):\n%s", path, got, golden, want)
			}
		})
	}
}
