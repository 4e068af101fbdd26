package plugin

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w watchdog
		defer w.close()
		var mu sync.Mutex // guards the times expire records
		expired := func(at *time.Time) func() {
			return func() {
				mu.Lock()
				*at = time.Now()
				mu.Unlock()
			}
		}
		locked := func(f func()) {
			mu.Lock()
			defer mu.Unlock()
			f()
		}
		begin := time.Now()

		// A call stopped in time never expires.
		var never time.Time
		c := w.start(time.Minute, expired(&never))
		time.Sleep(30 * time.Second)
		w.stop(c)

		// A shorter limit after a longer one (the timer is still armed
		// for the first call's deadline) expires at its own deadline.
		var short time.Time
		start := time.Now()
		w.start(5*time.Second, expired(&short))
		time.Sleep(2 * time.Minute)
		locked(func() {
			if short.IsZero() || short.Sub(start) != 5*time.Second {
				t.Errorf("a 5 s call after a 1 min one expired after %v, want 5s", short.Sub(start))
			}
		})

		// A longer limit after the timer was armed for an earlier deadline
		// expires at its own deadline, not the earlier one.
		var long time.Time
		c = w.start(time.Second, expired(&never))
		w.stop(c)
		start = time.Now()
		w.start(10*time.Second, expired(&long))
		time.Sleep(time.Minute)
		locked(func() {
			if long.IsZero() || long.Sub(start) != 10*time.Second {
				t.Errorf("a 10 s call after a stopped 1 s one expired after %v, want 10s", long.Sub(start))
			}
			if !never.IsZero() {
				t.Errorf("a stopped call expired at %v", never.Sub(begin))
			}
		})

		// After close nothing expires.
		w.close()
		var closed time.Time
		w.start(time.Second, expired(&closed))
		time.Sleep(time.Minute)
		locked(func() {
			if !closed.IsZero() {
				t.Error("a call started after close expired")
			}
		})
	})
}
