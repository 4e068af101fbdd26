//go:build !unix

package audit

import "os"

// lockFile is a no-op where flock is unavailable: two Logs opened on one
// file there would fork the chain, which Verify then reports.
func lockFile(*os.File) error { return nil }
