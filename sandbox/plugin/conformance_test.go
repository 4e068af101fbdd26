package plugin

import (
	"testing"

	"github.com/toolwarden/toolwarden/sandbox/sandboxtest"
)

func TestConformance(t *testing.T) {
	r := newRunner(t, Config{})
	sandboxtest.Conformance(t, r, sandboxtest.Fixtures{
		Echo:    fixture(t, "echo"),
		Loop:    fixture(t, "loop"),
		Membomb: fixture(t, "membomb"),
		Flood:   fixture(t, "flood"),
	})
}
