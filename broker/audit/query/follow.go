package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// DefaultFollowPoll is how often [Follow] looks for new records when its
// poll argument is zero.
const DefaultFollowPoll = 200 * time.Millisecond

// Follow calls fn with each record of the log at path whose seq is greater
// than f.AfterSeq and that matches f, in chain order: first those already
// written, then each new one as it becomes visible, polling every poll
// (zero means DefaultFollowPoll). It follows rotation: when the active
// file is renamed to a segment, Follow finishes it and moves on to the new
// active file. It returns nil when ctx ends, or the first error from fn or
// from reading.
//
// # Notes
//
// Follow reads records as they reach the file, a moment before the
// broker's fsync: a record shown may, after a power failure, be missing
// from the log; its call then got no reply.
func Follow(ctx context.Context, path string, f Filter, poll time.Duration, fn func(*audit.Record) error) error {
	if poll <= 0 {
		poll = DefaultFollowPoll
	}
	fw := &follower{path: path, f: f, fn: fn, after: f.AfterSeq}
	fw.m = newMatcher(&fw.f)
	// The first step reads the rotated segments, then the active file.
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer fw.close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := fw.step(); err != nil {
			return err
		}
		timer.Reset(poll)
	}
}

// follower is the state of one Follow.
type follower struct {
	path  string
	f     Filter
	m     *matcher
	fn    func(*audit.Record) error
	after uint64 // last seq passed over

	drained     bool   // the rotated segments up to drainedUpTo have been read
	drainedUpTo uint64 // first seq of the newest segment read

	cur     *os.File // the active file being read, nil before it exists
	off     int64
	line    int // complete lines read from the current file
	partial []byte
	buf     []byte
}

func (fw *follower) close() {
	if fw.cur != nil {
		fw.cur.Close()
	}
}

// drainFile reads a whole rotated segment.
func (fw *follower) drainFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since listed
		}
		return fmt.Errorf("follow audit log: %w", err)
	}
	defer f.Close()
	fw.partial, fw.line = fw.partial[:0], 0
	_, err = fw.read(f, 0)
	fw.partial = fw.partial[:0]
	return err
}

// catchUp reads the rotated segments that may hold records past fw.after
// and opens the active file. audit.Segments rotated away while it worked are
// read too: it opens the active file only when no segment appeared since
// it listed them. Records already passed over are skipped, so a segment
// read twice does no harm. It leaves fw.cur nil if there is no active file
// yet.
func (fw *follower) catchUp() error {
	for {
		segs, err := audit.RotatedSegments(fw.path)
		if err != nil {
			return err
		}
		// From the last segment that can hold seq after+1, unless these
		// very segments were read already (rotated segments do not change):
		// while the active file is missing, each poll comes back here.
		if newest := lastFirst(segs); !fw.drained || newest != fw.drainedUpTo {
			start := 0
			for i, s := range segs {
				if s.First <= fw.after+1 {
					start = i
				}
			}
			for _, s := range segs[start:] {
				if err := fw.drainFile(s.Path); err != nil {
					return err
				}
			}
			fw.drained, fw.drainedUpTo = true, newest
		}
		f, err := os.Open(fw.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // between rotation's rename and create, or not yet written
		}
		if err != nil {
			return fmt.Errorf("follow audit log: %w", err)
		}
		again, err := audit.RotatedSegments(fw.path)
		if err != nil {
			f.Close()
			return err
		}
		if lastFirst(again) == lastFirst(segs) {
			fw.cur, fw.off, fw.line = f, 0, 0
			fw.partial = fw.partial[:0]
			return nil
		}
		f.Close() // rotated meanwhile: f may be newer than a segment not yet read
	}
}

// lastFirst is the first seq of the newest segment, 0 if none.
func lastFirst(segs []audit.Segment) uint64 {
	if len(segs) == 0 {
		return 0
	}
	return segs[len(segs)-1].First
}

// step reads what is new in the active file and moves to a new active
// file after a rotation.
func (fw *follower) step() error {
	if fw.cur == nil {
		if err := fw.catchUp(); err != nil || fw.cur == nil {
			return err
		}
	}
	var err error
	if fw.off, err = fw.read(fw.cur, fw.off); err != nil {
		return err
	}
	now, err := os.Stat(fw.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("follow audit log: %w", err)
	}
	was, err2 := fw.cur.Stat()
	if err2 != nil {
		return fmt.Errorf("follow audit log: %w", err2)
	}
	if now != nil && os.SameFile(now, was) {
		return nil
	}
	// Rotated: the old file is complete; read what is left, then switch.
	if fw.off, err = fw.read(fw.cur, fw.off); err != nil {
		return err
	}
	fw.cur.Close()
	fw.cur = nil
	return nil
}

// read processes the complete lines of f from off on and returns the
// offset after the last complete line read.
func (fw *follower) read(f *os.File, off int64) (int64, error) {
	if fw.buf == nil {
		fw.buf = make([]byte, 256<<10)
	}
	for {
		n, err := f.ReadAt(fw.buf, off)
		if n > 0 {
			off += int64(n)
			data := fw.buf[:n]
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					if len(fw.partial)+len(data) > audit.MaxLineBytes+1 {
						return off, &audit.VerifyError{File: f.Name(), Kind: audit.KindMalformed, Line: fw.line + 1, Msg: fmt.Sprintf("line longer than %d bytes", audit.MaxLineBytes)}
					}
					fw.partial = append(fw.partial, data...)
					break
				}
				line := data[:i]
				if len(fw.partial) > 0 {
					fw.partial = append(fw.partial, line...)
					line = fw.partial
				}
				if err := fw.handle(f.Name(), line); err != nil {
					return off, err
				}
				fw.partial = fw.partial[:0]
				data = data[i+1:]
			}
		}
		if err == io.EOF || (err == nil && n == 0) {
			// Leave a partial line for the next read: rewind past it.
			off -= int64(len(fw.partial))
			fw.partial = fw.partial[:0]
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("follow audit log %s: %w", f.Name(), err)
		}
	}
}

// handle passes one line to fn if it is new and matches.
func (fw *follower) handle(name string, line []byte) error {
	fw.line++
	var lf lineFields
	match, fast := fw.m.scan(line, &lf)
	if fast {
		if lf.seq <= fw.after {
			return nil
		}
		fw.after = lf.seq
		if !match {
			return nil
		}
	}
	rec, err := audit.ParseLine(line)
	if err != nil {
		return &audit.VerifyError{File: name, Line: fw.line, Kind: audit.KindMalformed, Msg: "not a record: " + err.Error()}
	}
	if !fast {
		if rec.Seq <= fw.after {
			return nil
		}
		fw.after = rec.Seq
		if !fw.f.Match(rec) {
			return nil
		}
	}
	return fw.fn(rec)
}

// Tail returns the last n records of the log at path that match f, oldest
// first, and the seq of the log's last record (0 for an empty log), to
// hand to [Follow] as Filter.AfterSeq. It reads the files from the newest
// back, only as far as it needs to find n matches, and decodes only the
// records it returns. A torn last line is skipped, as by [Records].
func Tail(ctx context.Context, path string, f Filter, n int) ([]*audit.Record, uint64, error) {
	files, err := audit.Segments(path)
	if err != nil {
		return nil, 0, err
	}
	var last uint64
	for i := len(files) - 1; i >= 0 && last == 0; i-- {
		err := scanFile(ctx, files[i], i == len(files)-1, newMatcher(&Filter{}), func(_ []byte, lf *lineFields, rec *audit.Record) error {
			if rec != nil {
				last = max(last, rec.Seq)
			} else {
				last = max(last, lf.seq)
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	if n <= 0 {
		return nil, last, nil
	}
	var lines [][]byte // the last matches found so far, oldest first
	m := newMatcher(&f)
	for i := len(files) - 1; i >= 0 && len(lines) < n; i-- {
		ring := make([][]byte, 0, min(n, 1024)) // the last n matches of this file, from ring[k%n]
		k := 0
		err := scanFile(ctx, files[i], i == len(files)-1, m, func(line []byte, _ *lineFields, rec *audit.Record) error {
			if rec != nil && !f.Match(rec) {
				return nil
			}
			if len(ring) < n {
				ring = append(ring, bytes.Clone(line))
			} else {
				ring[k%n] = append(ring[k%n][:0], line...)
			}
			k++
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		if k > n {
			ring = append(ring[k%n:], ring[:k%n]...)
		}
		lines = append(ring[max(0, len(ring)-(n-len(lines))):], lines...)
	}
	out := make([]*audit.Record, 0, len(lines))
	for _, line := range lines {
		rec, err := audit.ParseLine(line)
		if err != nil {
			return nil, 0, fmt.Errorf("tail audit log: %w", err)
		}
		out = append(out, rec)
	}
	return out, last, nil
}
