//go:build !linux

package query

import "os"

// mapFile is unavailable here: scans read files instead.
func mapFile(*os.File, int64) ([]byte, func(), error) { return nil, nil, errNoMap }
