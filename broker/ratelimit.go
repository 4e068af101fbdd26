package broker

import (
	"sync"
	"time"
)

// windowSlots is how many slots a rate's window is cut into. A window of
// length W, wherever it starts, overlaps at most ringSlots of them.
const (
	windowSlots = 60
	ringSlots   = windowSlots + 1
)

// sweepEvery is how many takes pass between sweeps of idle keys.
const sweepEvery = 1024

// limiter enforces rates of the form "N calls per W" exactly as stated: a
// key is never admitted more than N calls in any window of length W.
//
// Each key counts its admitted calls in slots of W/windowSlots (rounded
// up). A call at t is admitted when the calls in every slot that overlaps
// (t-W, t] (ringSlots of them, the oldest counted whole, though part of it
// is older) number fewer than N. Then no window of length W holds more
// than N: take the last call admitted in it; every call of the window is
// in a slot that call counted. Counting the oldest slot whole can refuse a
// call up to W/windowSlots early, never admit one too many. A key whose last call is more than W
// old holds nothing and is dropped by a sweep every sweepEvery takes, so
// memory follows the keys active within their window, however many
// subjects a JWT issuer mints.
type limiter struct {
	mu      sync.Mutex // guards following
	windows map[string]*window
	takes   int
}

// window is one key's recent calls.
type window struct {
	calls  int
	per    time.Duration
	slot   time.Duration // per / windowSlots, rounded up
	last   int64         // index of the newest slot (time since epoch / slot)
	counts [ringSlots]int32
	total  int // sum of counts
}

func newLimiter() *limiter { return &limiter{windows: make(map[string]*window)} }

// take admits one call of key under "calls per per", reporting whether it
// was admitted and, if not, how long until it would be.
func (l *limiter) take(key string, calls int, per time.Duration, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.takes++; l.takes%sweepEvery == 0 {
		l.sweep(now)
	}
	w, ok := l.windows[key]
	if !ok || w.calls != calls || w.per != per {
		// A new key, or a rate that changed under it (a reload): start
		// afresh with the new rate.
		// Slots round up, so the slots counted cover at least per.
		w = &window{calls: calls, per: per, slot: max((per+windowSlots-1)/windowSlots, 1)}
		w.last = now.UnixNano() / int64(w.slot)
		l.windows[key] = w
	}
	w.advance(now)
	if w.total >= w.calls {
		return false, w.wait(now)
	}
	w.counts[w.last%ringSlots]++
	w.total++
	return true, 0
}

// advance moves the window to now, forgetting slots that left it.
func (w *window) advance(now time.Time) {
	cur := now.UnixNano() / int64(w.slot)
	if cur <= w.last {
		return
	}
	if cur-w.last >= ringSlots {
		w.counts = [ringSlots]int32{}
		w.total = 0
	} else {
		for i := w.last + 1; i <= cur; i++ {
			j := i % ringSlots
			w.total -= int(w.counts[j])
			w.counts[j] = 0
		}
	}
	w.last = cur
}

// wait is how long until the oldest counted call leaves the window, at
// the earliest: the time until the oldest non-empty slot stops overlapping
// it.
func (w *window) wait(now time.Time) time.Duration {
	for age := int64(ringSlots - 1); age >= 0; age-- {
		if w.counts[(w.last-age)%ringSlots] > 0 {
			leaves := time.Unix(0, (w.last-age+ringSlots)*int64(w.slot))
			return max(leaves.Sub(now), 0)
		}
	}
	return 0
}

// idle reports whether w holds no call within its window at now.
func (w *window) idle(now time.Time) bool {
	return now.UnixNano()/int64(w.slot)-w.last >= ringSlots
}

// sweep drops the windows that hold nothing.
func (l *limiter) sweep(now time.Time) {
	for k, w := range l.windows {
		if w.idle(now) {
			delete(l.windows, k)
		}
	}
}

// size returns how many keys the limiter holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.windows)
}
