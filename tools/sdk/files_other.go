//go:build !wasip1

package sdk

import (
	"errors"
	"io/fs"
	"os"
)

func mountNames() []string { return nil }

func open(name string) (*os.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("mounted directories exist only under GOOS=wasip1")}
}
