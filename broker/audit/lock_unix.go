//go:build unix

package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting, so two
// brokers never extend one chain. The lock goes with f's descriptor.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return fmt.Errorf("audit log %s is open elsewhere (locked by another Log or process)", f.Name())
		default:
			return fmt.Errorf("lock audit log %s: %w", f.Name(), err)
		}
	}
}
