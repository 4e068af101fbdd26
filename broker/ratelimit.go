package broker

import (
	"sync"
	"time"
)

// limiter is a token bucket per key: each key holds at most calls tokens and
// regains them evenly over window.
type limiter struct {
	mu      sync.Mutex // guards following
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: make(map[string]*bucket)} }

// take spends one token of key's bucket, reporting whether one was left and,
// if not, how long until the next one.
func (l *limiter) take(key string, calls int, window time.Duration, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	capacity := float64(calls)
	rate := capacity / window.Seconds() // tokens per second
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: capacity, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(capacity, b.tokens+elapsed*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait
}
