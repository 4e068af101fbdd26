package plugin

import "github.com/toolwarden/toolwarden/sandbox/confine"

// MaybeLaunch turns the process into a plugin launcher when the runner
// started it as one, and returns at once otherwise. A launcher never
// returns from MaybeLaunch: it confines itself and execs the plugin, or
// exits with status 125.
//
// # Notes
//
// Call it first thing in main (cmd/toolwarden) and in TestMain of any test
// that runs plugins, before anything starts goroutines or reads stdin: the
// runner re-executes the broker's own binary (/proc/self/exe) as the
// launcher, so a binary that never calls MaybeLaunch cannot launch plugins
// (every start fails with a clear error).
//
// Package confine's init already does this, before the program's heavier
// packages initialize (see package confine); MaybeLaunch is the
// explicit, documented entry and a no-op in a process init turned into a
// launcher (it never got this far).
func MaybeLaunch() {
	if confine.IsLauncher() {
		confine.Main()
	}
}
