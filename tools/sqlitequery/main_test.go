package main

import (
	"os"
	"testing"

	sandboxplugin "github.com/toolwarden/toolwarden/sandbox/plugin"
)

func TestMain(m *testing.M) {
	// The plugin runner re-executes this test binary as its launcher.
	sandboxplugin.MaybeLaunch()
	code := m.Run()
	for _, dir := range []string{sampleDir, binDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}
