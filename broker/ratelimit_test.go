package broker

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// maxInWindow is the most of the sorted times that fall in any window
// (t-per, t] of length per.
func maxInWindow(times []time.Time, per time.Duration) int {
	best, lo := 0, 0
	for hi := range times {
		for !times[lo].After(times[hi].Add(-per)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// TestRateMeansWhatItSays drives one key with bursts and steady traffic
// at random moments and checks the admitted calls against the rate: never
// more than N in any window of length W, and N in a window that starts
// empty.
func TestRateMeansWhatItSays(t *testing.T) {
	for _, tc := range []struct {
		calls int
		per   time.Duration
	}{
		{30, time.Minute},
		{1, time.Second},
		{5, 10 * time.Second},
		{100, time.Hour},
		{7, 333 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%d/%s", tc.calls, tc.per), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.calls), uint64(tc.per)))
			l := newLimiter()
			now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
			var admitted []time.Time
			// The first window: a burst gets exactly N.
			for range 3 * tc.calls {
				if ok, _ := l.take("k", tc.calls, tc.per, now); ok {
					admitted = append(admitted, now)
				}
			}
			if len(admitted) != tc.calls {
				t.Fatalf("a burst into an empty window admitted %d calls, want %d", len(admitted), tc.calls)
			}
			for range 20000 {
				now = now.Add(time.Duration(rng.Int64N(int64(tc.per) / int64(tc.calls) * 2)))
				ok, wait := l.take("k", tc.calls, tc.per, now)
				if ok {
					admitted = append(admitted, now)
				} else if slot := tc.per/windowSlots + 1; wait <= 0 || wait > tc.per+slot {
					t.Fatalf("refused with retry-after %s, want within (0, %s]", wait, tc.per+slot)
				}
			}
			sort.Slice(admitted, func(i, j int) bool { return admitted[i].Before(admitted[j]) })
			if got := maxInWindow(admitted, tc.per); got > tc.calls {
				t.Fatalf("%d calls admitted within one window of %s, the rate is %d", got, tc.per, tc.calls)
			}
			// Steady traffic well under the rate is never refused, and the
			// admitted share of traffic at twice the rate is close to it.
			if len(admitted) < 20000/4 {
				t.Errorf("admitted %d of 20000 calls offered at about twice the rate: the limiter refuses too early", len(admitted))
			}
		})
	}
}

// TestRateRetryAfterIsTrue waits exactly the retry-after a refusal gave
// and is admitted then, not before.
func TestRateRetryAfterIsTrue(t *testing.T) {
	l := newLimiter()
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for range 30 {
		l.take("k", 30, time.Minute, now)
	}
	now = now.Add(10 * time.Second)
	ok, wait := l.take("k", 30, time.Minute, now)
	if ok || wait <= 0 {
		t.Fatalf("31st call in a minute = %v, %s; want refused with a wait", ok, wait)
	}
	if ok, _ := l.take("k", 30, time.Minute, now.Add(wait-time.Millisecond)); ok {
		t.Errorf("admitted before the retry-after it gave")
	}
	if ok, _ := l.take("k", 30, time.Minute, now.Add(wait)); !ok {
		t.Errorf("refused at the retry-after it gave (%s)", wait)
	}
}

// TestRateKeysAreEvicted creates a key per subject, as JWT subjects would,
// and checks that keys idle past their window are dropped.
func TestRateKeysAreEvicted(t *testing.T) {
	l := newLimiter()
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for i := range 10 * sweepEvery {
		l.take(fmt.Sprint("subject-", i), 5, time.Minute, now)
	}
	if got := l.size(); got < 9*sweepEvery {
		t.Fatalf("%d keys held within their window, want them all", got)
	}
	now = now.Add(2 * time.Minute)
	for range sweepEvery {
		l.take("active", 1000, time.Minute, now)
	}
	if got := l.size(); got != 1 {
		t.Errorf("%d keys held after their windows passed, want 1 (the active one)", got)
	}
}
