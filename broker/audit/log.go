package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults for the zero values of [Options].
const (
	DefaultCheckpointEvery    = 1000        // records between checkpoints
	DefaultCheckpointInterval = time.Minute // longest a durable record stays unanchored
	DefaultRotateBytes        = 64 << 20    // size at which the active file is rotated
)

// Options configures [Open]. The zero value opens a log without signed
// checkpoints that refuses to extend a broken file.
type Options struct {
	// AllowBroken lets Open extend a log whose earlier lines fail
	// verification (or that contradicts its checkpoints). The problem is
	// logged and the chain continues after the last line that decodes as a
	// record. False (the default) makes Open refuse such a file with a
	// *VerifyError naming the line.
	AllowBroken bool

	// Logger receives torn-line recoveries, broken-log warnings and write
	// failures. Nil means slog.Default().
	Logger *slog.Logger

	// SigningKey signs checkpoints, written to CheckpointsPath(path). Nil
	// means no checkpoints. Open checks the existing checkpoints against
	// the log with its public key.
	SigningKey ed25519.PrivateKey
	// Origin names the log inside every checkpoint, so a checkpoint of one
	// log is never taken for another's. "" means the origin of the existing
	// checkpoints, or else the log's absolute path. It may not contain
	// control characters.
	Origin string
	// CheckpointEvery is how many durable records trigger a checkpoint.
	// Zero means DefaultCheckpointEvery; negative is an error.
	CheckpointEvery int
	// CheckpointInterval is how long after a record becomes durable a
	// checkpoint covers it at the latest. Zero means
	// DefaultCheckpointInterval; negative is an error.
	CheckpointInterval time.Duration

	// RotateBytes is the size at which the active file is renamed to a
	// rotated segment ([SegmentPath]) and a new one started; the chain
	// continues across files. Zero means DefaultRotateBytes; negative is
	// an error. A record is never split across files, so a file may
	// exceed RotateBytes by one batch.
	RotateBytes int64
}

// Log is an open, append-only, hash-chained audit log.
//
// # Notes
//
// A Log is safe for concurrent use. It holds an exclusive lock on
// path+".lock" (flock, where available) until [Log.Close], which the
// opener must call.
// After a write or sync failure the Log is failed: every Append returns
// [CodeUnavailable] (fail closed) while the writer tries, every
// [HealInterval], to write again. It cuts what the failed writes may have
// left past the last durable record, continues the chain from it with an
// [EventRecovered] record that says how long it was down and how many
// appends it refused, and takes appends again.
type Log struct {
	path     string
	lockf    *os.File // path+".lock", flocked for the Log's life
	cpf      *os.File // checkpoints file; nil without a signing key
	logger   *slog.Logger
	key      ed25519.PrivateKey
	keyID    string
	origin   string
	every    uint64
	interval time.Duration
	wake     chan struct{} // cap 1: a batch is waiting
	stop     chan struct{} // closed by Close
	rotate   int64         // RotateBytes
	wg       sync.WaitGroup
	once     sync.Once
	closeErr error // set inside once

	// Owned by the writer goroutine (and by Open before it starts).
	f           *os.File // the active file
	size        int64    // of the active file
	rotateAt    int64    // size that triggers the next rotation
	firstSeq    uint64   // seq of the first record in the active file
	durableSeq  uint64   // last record written and synced
	durableHead string
	anchored    uint64        // last record covered by a checkpoint
	target      int           // Appends seen in flight at the last commit
	lastSync    time.Duration // how long the last write and sync took
	syncs       int           // batches committed
	lingerTimer *time.Timer
	cpSize      int64 // of the checkpoints file, after its last good write

	mu       sync.Mutex // guards following
	seq      uint64     // last record appended
	head     string     // its hash
	cur      *batch     // records waiting for the writer
	spare    []byte     // a written batch's buffer, for reuse
	failed   error      // first write failure: the Log fails closed
	failedAt time.Time  // when it failed
	refused  int        // appends refused since
	closed   bool
}

// HealInterval is how often a failed Log tries to write again.
const HealInterval = time.Second

// batch is a group of records written and synced together.
type batch struct {
	buf  []byte
	n    int    // records in buf
	seq  uint64 // last record in buf
	head string
	done chan struct{} // closed when written, synced or failed
	err  error         // set before done is closed
}

const (
	maxSpareBytes = 1 << 20
	// maxLinger caps how long the writer waits for a batch to fill.
	maxLinger = time.Millisecond
)

// Open opens the log at path, creating it (mode 0600) if missing, and
// recovers the chain head from its last record (or, if the active file is
// empty, from the last line of its last rotated segment).
//
// A last line without a trailing newline (a write cut short by a crash) is
// logged as torn, copied to path+".torn-<unix seconds>" and truncated
// away; the chain continues from the last complete record, which is
// correct because no Append of the torn record ever returned. Any other
// verification failure makes Open refuse the file unless
// [Options.AllowBroken] is set; the error wraps the *[VerifyError].
//
// # Notes
//
// Open reads and verifies the whole active file (and the checkpoints), so
// its cost grows with [Options.RotateBytes]; rotated segments are not
// re-verified, only linked to. Open takes an exclusive lock on
// path+".lock" (flock, where available), so two Logs never extend one
// chain. The caller must Close the Log.
func Open(path string, opts Options) (*Log, error) {
	l := &Log{
		path:   path,
		logger: opts.Logger,
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if err := l.configure(opts); err != nil {
		return nil, err
	}
	lf, err := openFile(path+".lock", true)
	if err != nil {
		return nil, err
	}
	l.lockf = lf
	f, err := openFile(path, false)
	if err != nil {
		l.closeFiles()
		return nil, err
	}
	l.f = f
	if err := l.recover(opts.AllowBroken); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		l.closeFiles()
		return nil, err
	}
	l.wg.Add(1)
	go l.run()
	return l, nil
}

// configure validates opts and copies the checkpoint settings.
func (l *Log) configure(opts Options) error {
	switch {
	case opts.CheckpointEvery < 0:
		return fmt.Errorf("audit: Options.CheckpointEvery is %d, want > 0 (0 means %d)", opts.CheckpointEvery, DefaultCheckpointEvery)
	case opts.CheckpointInterval < 0:
		return fmt.Errorf("audit: Options.CheckpointInterval is %v, want > 0 (0 means %v)", opts.CheckpointInterval, DefaultCheckpointInterval)
	case opts.RotateBytes < 0:
		return fmt.Errorf("audit: Options.RotateBytes is %d, want > 0 (0 means %d)", opts.RotateBytes, DefaultRotateBytes)
	case opts.SigningKey != nil && len(opts.SigningKey) != ed25519.PrivateKeySize:
		return fmt.Errorf("audit: Options.SigningKey is %d bytes, want %d", len(opts.SigningKey), ed25519.PrivateKeySize)
	}
	if err := checkOrigin(opts.Origin); err != nil {
		return fmt.Errorf("audit: Options.Origin: %w", err)
	}
	l.every = uint64(opts.CheckpointEvery)
	if l.every == 0 {
		l.every = DefaultCheckpointEvery
	}
	l.interval = opts.CheckpointInterval
	if l.interval == 0 {
		l.interval = DefaultCheckpointInterval
	}
	l.rotate = opts.RotateBytes
	if l.rotate == 0 {
		l.rotate = DefaultRotateBytes
	}
	if opts.SigningKey != nil {
		l.key = append(ed25519.PrivateKey(nil), opts.SigningKey...)
		l.keyID = keyID(l.key.Public().(ed25519.PublicKey))
		l.origin = opts.Origin
	}
	return nil
}

// openFile opens (or creates) a log, checkpoints or lock file for
// appending and reading, and locks it if lock is set.
func openFile(path string, lock bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open audit log %s: not a regular file (%v)", path, fi.Mode().Type())
	}
	if !lock {
		return f, nil
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// recover reads the checkpoints and the log, repairs a torn tail and sets
// the chain head.
func (l *Log) recover(allowBroken bool) error {
	var refs []checkpointRef
	if l.key != nil {
		var err error
		if refs, err = l.recoverCheckpoints(allowBroken); err != nil {
			return err
		}
	}
	segs, err := RotatedSegments(l.path)
	if err != nil {
		return err
	}
	var startSeq uint64
	var startHead string
	if n := len(segs); n > 0 {
		tail, err := tailRecord(segs[n-1].Path)
		if err != nil {
			return fmt.Errorf("open audit log %s: cannot continue the chain: %w", l.path, err)
		}
		startSeq, startHead = tail.Seq, tail.Hash
	}
	size, err := l.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	v := newVerifier(io.NewSectionReader(l.f, 0, size), refs)
	v.file = l.path
	v.startAt(startSeq, startHead)
	err = v.run()
	var ve *VerifyError
	switch {
	case err == nil:
	case errors.As(err, &ve) && ve.Kind == KindTorn:
		if err := saveTorn(l.f, l.path, v.tornAt, v.tornLen); err != nil {
			return err
		}
		l.logger.Warn("audit log: torn final line (a write cut short, not tampering); saved and truncated",
			"path", l.path, "line", ve.Line, "bytes", v.tornLen, "continue_after_seq", v.seq)
	case ve != nil && allowBroken:
		l.logger.Error("audit log fails verification; continuing after its last record because AllowBroken is set",
			"path", l.path, "line", ve.Line, "kind", ve.Kind, "msg", ve.Msg)
		s, err := lastRecord(io.NewSectionReader(l.f, 0, size), startSeq, startHead)
		if err != nil {
			return fmt.Errorf("open audit log %s: %w", l.path, err)
		}
		if s.torn {
			if err := saveTorn(l.f, l.path, s.tornAt, s.tornLen); err != nil {
				return err
			}
			l.logger.Warn("audit log: torn final line saved and truncated", "path", l.path, "bytes", s.tornLen)
		}
		v.seq, v.head, v.first = s.seq, s.head, s.first
	case ve != nil:
		return fmt.Errorf("open audit log %s: refusing to extend a log that fails verification at line %d (set AllowBroken to continue after it): %w", l.path, ve.Line, ve)
	default:
		return fmt.Errorf("open audit log %s: %w", l.path, err)
	}
	l.seq, l.head = v.seq, v.head
	l.durableSeq, l.durableHead = v.seq, v.head
	l.firstSeq = v.first
	if l.firstSeq == 0 {
		l.firstSeq = v.seq + 1
	}
	if l.size, err = l.f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	l.rotateAt = l.rotate
	if n := len(refs); n > 0 {
		l.anchored = min(refs[n-1].count, v.seq)
	}
	return nil
}

// saveTorn copies the n bytes at off in f to a new path+".torn-<unix>" file,
// syncs it, then truncates f at off and syncs f.
func saveTorn(f *os.File, path string, off, n int64) error {
	base := fmt.Sprintf("%s.torn-%d", path, time.Now().Unix())
	name := base
	var tf *os.File
	var err error
	for i := 2; ; i++ {
		tf, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) || i > 100 {
			break
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	if err != nil {
		return fmt.Errorf("save torn line of %s: %w", path, err)
	}
	_, err = io.Copy(tf, io.NewSectionReader(f, off, n))
	if err == nil {
		err = tf.Sync()
	}
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("save torn line of %s to %s: %w", path, name, err)
	}
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("truncate torn line of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("truncate torn line of %s: %w", path, err)
	}
	return nil
}

// lastScan is what lastRecord found.
type lastScan struct {
	seq     uint64
	head    string
	first   uint64 // seq of the first record that decodes
	torn    bool
	tornAt  int64
	tornLen int64
}

// lastRecord finds the last complete line that decodes as a record, and a
// torn tail, without checking the chain. With no such line, the result
// keeps seq and head.
func lastRecord(r io.Reader, seq uint64, head string) (lastScan, error) {
	s := lastScan{seq: seq, head: head}
	lr := newLineReader(r)
	for {
		start := lr.off
		line, terminated, tooLong, err := lr.next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, err
		}
		if !terminated {
			s.torn, s.tornAt, s.tornLen = true, start, lr.off-start
			return s, nil
		}
		if tooLong {
			continue
		}
		if rec, err := ParseLine(line); err == nil {
			s.seq, s.head = rec.Seq, rec.Hash
			if s.first == 0 {
				s.first = rec.Seq
			}
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync audit log directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync audit log directory %s: %w", dir, err)
	}
	return nil
}

// Append sets r.Seq, r.Prev and r.Hash, appends r to the log and returns
// once it is durable (written and fsynced).
//
// Concurrent Appends are committed as a group: one writer goroutine writes
// every record waiting at that moment and syncs once, then wakes them all.
// When several Appends were in flight at the last commit, the writer waits
// for as many again before committing, but never longer than half the last
// sync took, nor 1 ms; a lone writer never waits.
//
// Append writes r as given: secrets must be redacted before (the broker
// does, with package redact).
//
// An error is an *[Error]. [CodeUnavailable] means the record is not known
// to be durable: the write or sync failed (and the Log is now failed), the
// Log is closed, or ctx ended while waiting. [CodeInvalidRecord] means r
// cannot be encoded; nothing was written.
//
// # Notes
//
// If ctx ends while Append waits, Append returns at once but the record
// is already queued and may still be written: the log may hold a record
// whose Append failed, never the reverse. A ctx that has ended before the
// call queues nothing. Likewise a record whose write succeeded but whose
// sync failed may survive in the file. The caller must not read or modify
// r while Append runs.
func (l *Log) Append(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return unavailable(fmt.Errorf("append not started: %w", err))
	}
	body, err := encodeBody(r)
	if err != nil {
		return invalidRecord("encode record: %w", err)
	}
	if n := len(body) + len(`{"seq":18446744073709551615"prev":"","hash":""}`) + 2*64; n > MaxLineBytes {
		return invalidRecord("record encodes to %d bytes, more than MaxLineBytes (%d)", n, MaxLineBytes)
	}

	l.mu.Lock()
	switch {
	case l.failed != nil:
		err := l.failed
		l.refused++
		l.mu.Unlock()
		return err
	case l.closed:
		l.mu.Unlock()
		return unavailable(ErrClosed)
	}
	b := l.cur
	if b == nil {
		b = &batch{buf: l.spare, done: make(chan struct{})}
		l.spare = nil
		l.cur = b
	}
	seq, prev := l.seq+1, l.head
	var hash string
	b.buf, hash = appendLine(b.buf, seq, body, prev)
	b.n++
	b.seq, b.head = seq, hash
	l.seq, l.head = seq, hash
	r.Seq, r.Prev, r.Hash = seq, prev, hash
	l.mu.Unlock()

	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		if b.err != nil {
			return b.err
		}
		return nil
	case <-ctx.Done():
		return unavailable(fmt.Errorf("stopped waiting for seq %d to be durable; it may still be written: %w", seq, ctx.Err()))
	}
}

// run is the writer goroutine: it commits batches and writes checkpoints.
func (l *Log) run() {
	defer l.wg.Done()
	var timer *time.Timer
	var tick <-chan time.Time // non-nil while the interval timer is armed
	heal := time.NewTimer(HealInterval)
	heal.Stop()
	var healing <-chan time.Time // non-nil while the heal timer is armed
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		heal.Stop()
	}()
	for {
		select {
		case <-l.wake:
			l.flush()
			if l.size >= l.rotateAt {
				l.rotateFile()
			}
		case <-tick:
			tick = nil
			l.checkpoint()
		case <-healing:
			healing = nil
			l.heal()
		case <-l.stop:
			l.flush()
			l.checkpoint()
			return
		}
		if healing == nil && l.isFailed() {
			heal.Reset(HealInterval)
			healing = heal.C
		}
		if l.key == nil {
			continue
		}
		switch pending := l.durableSeq - l.anchored; {
		case pending >= l.every:
			l.checkpoint()
			if tick != nil {
				timer.Stop()
				tick = nil
			}
		case pending > 0 && tick == nil:
			if timer == nil {
				timer = time.NewTimer(l.interval)
			} else {
				timer.Reset(l.interval)
			}
			tick = timer.C
		}
	}
}

// flush writes and syncs the waiting batch, then wakes its Appends.
func (l *Log) flush() {
	if l.target > 1 {
		l.linger()
	}
	l.mu.Lock()
	b := l.cur
	l.cur = nil
	l.mu.Unlock()
	if b == nil {
		return
	}
	start := time.Now()
	err := writeSync(l.f, b.buf)
	l.lastSync = time.Since(start)
	l.syncs++
	if err != nil {
		b.err = l.fail(fmt.Errorf("write audit log %s (records %d and before): %w", l.path, b.seq, err))
		l.mu.Lock()
		l.refused += b.n
		l.mu.Unlock()
		close(b.done)
		return
	}
	l.durableSeq, l.durableHead = b.seq, b.head
	l.size += int64(len(b.buf))
	close(b.done)
	l.mu.Lock()
	l.target = b.n
	if l.cur != nil {
		l.target += l.cur.n
	}
	if cap(b.buf) <= maxSpareBytes {
		l.spare = b.buf[:0]
	}
	l.mu.Unlock()
}

// rotateFile renames the active file to its segment name and starts a new
// one. The segment is sealed by a checkpoint first, if the Log signs. A
// failure to rename leaves the active file in place and is retried after
// another RotateBytes; a failure after the rename is undone, or else fails
// the Log, so records never land in a file the next Open cannot find.
func (l *Log) rotateFile() {
	l.mu.Lock()
	failed := l.failed != nil
	l.mu.Unlock()
	if failed || l.size == 0 {
		return
	}
	l.checkpoint()
	seg := SegmentPath(l.path, l.firstSeq)
	retry := func(msg string, err error) {
		l.rotateAt = l.size + l.rotate
		l.logger.Error("audit log: "+msg+"; still writing to the active file", "path", l.path, "segment", seg, "err", err)
	}
	if _, err := os.Lstat(seg); err == nil {
		retry("cannot rotate: the segment name is taken", os.ErrExist)
		return
	}
	if err := os.Rename(l.path, seg); err != nil {
		retry("cannot rotate", err)
		return
	}
	nf, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err == nil {
		err = syncDir(filepath.Dir(l.path))
		if err != nil {
			nf.Close()
			os.Remove(l.path)
		}
	}
	if err != nil {
		if rerr := os.Rename(seg, l.path); rerr != nil {
			l.fail(fmt.Errorf("rotate audit log %s: start a new file: %v; and put the old one back: %w", l.path, err, rerr))
			return
		}
		retry("cannot start a new file", err)
		return
	}
	old := l.f
	l.f = nf
	if err := old.Close(); err != nil {
		l.logger.Warn("audit log: closing the rotated segment", "segment", seg, "err", err)
	}
	l.size = 0
	l.rotateAt = l.rotate
	l.firstSeq = l.durableSeq + 1
}

// linger waits, at most half as long as the last sync took (and at most
// maxLinger), until as many records are waiting as there were Appends in
// flight at the last commit. Without it, writers woken by one commit
// arrive just after the next batch was taken, and concurrent writers
// split into two alternating half-size batches: one fsync per half.
func (l *Log) linger() {
	wait := min(l.lastSync/2, maxLinger)
	if l.lingerTimer == nil {
		l.lingerTimer = time.NewTimer(wait)
	} else {
		l.lingerTimer.Reset(wait)
	}
	defer l.lingerTimer.Stop()
	for {
		l.mu.Lock()
		n := 0
		if l.cur != nil {
			n = l.cur.n
		}
		l.mu.Unlock()
		if n == 0 || n >= l.target {
			return
		}
		select {
		case <-l.wake:
		case <-l.lingerTimer.C:
			return
		case <-l.stop:
			return
		}
	}
}

func writeSync(f *os.File, b []byte) error {
	n, err := f.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return err
	}
	return f.Sync()
}

// fail puts the Log in its failed state (once), fails the records still
// waiting and returns the error every later Append gets.
func (l *Log) fail(cause error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = unavailable(cause)
		l.failedAt = time.Now()
		l.logger.Error("audit log failed; refusing appends until it can write again", "path", l.path, "err", cause)
	}
	if b := l.cur; b != nil {
		l.cur = nil
		b.err = l.failed
		l.refused += b.n
		close(b.done)
	}
	return l.failed
}

func (l *Log) isFailed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed != nil && !l.closed
}

// heal tries to write again after a failure: it reopens the files, cuts
// what failed writes may have left past the last durable record (and the
// last good checkpoint), and appends an EventRecovered record, synced. It
// holds mu throughout, so the first append after it follows that record.
// A file now shorter than what was durably written is not healed: records
// are gone, and the Log stays failed.
func (l *Log) heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil || l.closed {
		return
	}
	f, err := reopenAt(l.path, l.size)
	if err != nil {
		l.logger.Debug("audit log: still unavailable", "path", l.path, "err", err)
		return
	}
	var cpf *os.File
	if l.key != nil {
		if cpf, err = reopenAt(CheckpointsPath(l.path), l.cpSize); err != nil {
			f.Close()
			l.logger.Debug("audit checkpoints: still unavailable", "path", l.path, "err", err)
			return
		}
	}
	now := time.Now()
	rec := &Record{
		Time:     now.UTC(),
		Event:    EventRecovered,
		Decision: DecisionDeny,
		Reason:   CodeUnavailable,
		Error: fmt.Sprintf("audit log unavailable from %s to %s (%s); %d appends refused meanwhile: %v",
			l.failedAt.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), now.Sub(l.failedAt).Round(time.Millisecond), l.refused, l.failed),
		Repeats: l.refused,
	}
	body, err := encodeBody(rec)
	if err != nil {
		f.Close()
		if cpf != nil {
			cpf.Close()
		}
		return
	}
	line, hash := appendLine(nil, l.durableSeq+1, body, l.durableHead)
	if err := writeSync(f, line); err != nil {
		f.Close()
		if cpf != nil {
			cpf.Close()
		}
		l.logger.Debug("audit log: still unavailable", "path", l.path, "err", err)
		return
	}
	l.f.Close() // the broken handle; its error says nothing new
	l.f = f
	if cpf != nil {
		l.cpf.Close()
		l.cpf = cpf
	}
	l.size += int64(len(line))
	l.durableSeq, l.durableHead = l.durableSeq+1, hash
	l.seq, l.head = l.durableSeq, l.durableHead
	l.logger.Warn("audit log writable again; appends resume", "path", l.path, "down", now.Sub(l.failedAt).Round(time.Millisecond),
		"refused", l.refused, "seq", l.durableSeq)
	l.failed, l.refused = nil, 0
}

// reopenAt opens the file at path for appending and cuts it back to size,
// the length it had after its last good write. A file shorter than that
// lost data and is refused.
func reopenAt(path string, size int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < size {
		err = fmt.Errorf("%s is %d bytes, shorter than the %d written to it", path, fi.Size(), size)
	}
	if err == nil && fi.Size() > size {
		if err = f.Truncate(size); err == nil {
			err = f.Sync()
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close writes what is waiting, writes a last checkpoint, stops the writer
// goroutine, and closes and unlocks the files. It returns the failure that
// put the Log in its failed state, if any, or the first error from closing.
// Later calls return the same result.
func (l *Log) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.stop)
		l.wg.Wait()
		l.mu.Lock()
		failed := l.failed
		l.mu.Unlock()
		l.closeErr = errors.Join(failed, l.closeFiles())
	})
	return l.closeErr
}

func (l *Log) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{l.f, l.cpf, l.lockf} {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", f.Name(), err))
		}
	}
	return errors.Join(errs...)
}
