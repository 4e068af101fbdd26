package manifests

import (
	"errors"
	"testing"
)

// fuzzFile is the file name fuzzed manifests are parsed under; artifacts
// resolve next to it and are never read by ParseTool or ParseRole.
const fuzzFile = "testdata/fuzz.yaml"

// checkRejection asserts that a rejection is a *LoadError whose problems
// all name the file.
func checkRejection(t *testing.T, err error) {
	t.Helper()
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) == 0 {
		t.Fatalf("rejection %#v is not a *LoadError with problems", err)
	}
	for _, p := range le.Problems {
		if p.File != fuzzFile || p.Why == "" {
			t.Fatalf("problem %+v does not name the file and a reason", p)
		}
	}
}

// FuzzParseTool asserts that ParseTool never panics, rejects with a
// *LoadError, and that an accepted manifest survives json.Marshal and a
// second ParseTool unchanged.
func FuzzParseTool(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		tool, err := ParseTool(data, fuzzFile)
		if err != nil {
			checkRejection(t, err)
			return
		}
		if tool.Schema() == nil || tool.ArtifactPath() == "" {
			t.Fatalf("accepted tool has no schema or artifact: %+v", tool)
		}
		roundTrip(t, tool)
	})
}

// FuzzParseRole is FuzzParseTool for roles.
func FuzzParseRole(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		role, err := ParseRole(data, fuzzFile)
		if err != nil {
			checkRejection(t, err)
			return
		}
		roundTrip(t, role)
	})
}
