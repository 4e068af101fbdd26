package audit

import (
	"bufio"
	"fmt"
	"os"
)

// CloseFileUnderneath closes l's log file without telling l, so that the
// next write fails as on a broken disk.
func CloseFileUnderneath(l *Log) { l.f.Close() }

// Syncs returns how many batches l committed; call it after Close.
func Syncs(l *Log) int { return l.syncs }

// GenerateLog writes n records made by gen to a new log at path, chained
// and rotated at rotate bytes exactly as a Log writes them, but without
// fsync: a fast generator for query benchmarks.
func GenerateLog(path string, n int, rotate int64, gen func(i int) *Record) error {
	var (
		f     *os.File
		w     *bufio.Writer
		size  int64
		first uint64 = 1
		head  string
		buf   []byte
	)
	start := func() error {
		var err error
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		w, size = bufio.NewWriterSize(f, 1<<20), 0
		return err
	}
	finish := func() error {
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	}
	if err := start(); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		body, err := encodeBody(gen(i))
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		buf, head = appendLine(buf[:0], uint64(i), body, head)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		size += int64(len(buf))
		if size >= rotate && i < n {
			if err := finish(); err != nil {
				return err
			}
			if err := os.Rename(path, SegmentPath(path, first)); err != nil {
				return err
			}
			first = uint64(i) + 1
			if err := start(); err != nil {
				return err
			}
		}
	}
	return finish()
}

// CanonicalLine returns the line a Log writes for r as the first record.
func CanonicalLine(r *Record) ([]byte, error) {
	body, err := encodeBody(r)
	if err != nil {
		return nil, err
	}
	line, _ := appendLine(nil, 1, body, "")
	return line[:len(line)-1], nil
}

// Canonical returns the canonical encoding of r, chain fields included.
func Canonical(r *Record) ([]byte, error) { return canonical(r) }
