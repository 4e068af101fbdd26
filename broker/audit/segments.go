package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// segmentDigits is the width of the first seq in a rotated segment's name.
const segmentDigits = 20

// SegmentPath returns the name the log at logPath gives the rotated
// segment whose first record has seq first: logPath + "." + first in 20
// decimal digits, e.g. "audit.log.00000000000000001001".
func SegmentPath(logPath string, first uint64) string {
	return fmt.Sprintf("%s.%0*d", logPath, segmentDigits, first)
}

// Segment is one rotated file of a log.
type Segment struct {
	Path  string
	First uint64 // the seq of its first record, from its name
}

// RotatedSegments lists the rotated segments of the log at path, in order
// of their first seq.
func RotatedSegments(path string) ([]Segment, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list audit log segments: %w", err)
	}
	var out []Segment
	for _, e := range entries {
		first, ok := segmentSeq(e.Name(), base)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		out = append(out, Segment{Path: filepath.Join(dir, e.Name()), First: first})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First < out[j].First })
	return out, nil
}

// segmentSeq parses name as base + "." + 20 digits.
func segmentSeq(name, base string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, base+".")
	if !ok || len(rest) != segmentDigits {
		return 0, false
	}
	for _, c := range []byte(rest) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// Segments returns the files of the log at path in chain order: its
// rotated segments (see [SegmentPath]) by first seq, then path itself if
// it exists. A log that was never written has no files.
func Segments(path string) ([]string, error) {
	segs, err := RotatedSegments(path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(segs)+1)
	for _, s := range segs {
		out = append(out, s.Path)
	}
	switch fi, err := os.Stat(path); {
	case err == nil && fi.Mode().IsRegular():
		out = append(out, path)
	case err == nil:
		return nil, fmt.Errorf("audit log %s: not a regular file", path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}

// DefaultLogName is the file name [FindLog] looks for first in a directory.
const DefaultLogName = "audit.log"

// FindLog resolves a path given by a user to the log it names: a file is
// itself (rotated segments and all), and a directory names the one log in
// it: DefaultLogName if it has files, otherwise the single log whose
// segments or checkpoints it holds. A directory with several logs is an
// error that lists them.
func FindLog(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if segs, serr := RotatedSegments(path); serr == nil && len(segs) > 0 {
				return path, nil // rotated, with no active file yet
			}
		}
		return "", fmt.Errorf("audit log: %w", err)
	}
	if !fi.IsDir() {
		return path, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", fmt.Errorf("audit log directory: %w", err)
	}
	bases := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if b, ok := strings.CutSuffix(name, ".checkpoints"); ok && b != "" {
			bases[b] = true
			continue
		}
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			if _, ok := segmentSeq(name, name[:i]); ok {
				bases[name[:i]] = true
				continue
			}
		}
		if name == DefaultLogName {
			bases[name] = true
		}
	}
	if bases[DefaultLogName] {
		return filepath.Join(path, DefaultLogName), nil
	}
	var names []string
	for b := range bases {
		names = append(names, b)
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return "", fmt.Errorf("no audit log in %s (no %s, no rotated segments, no checkpoints)", path, DefaultLogName)
	case 1:
		return filepath.Join(path, names[0]), nil
	}
	return "", fmt.Errorf("%s holds several audit logs (%s): name the file", path, strings.Join(names, ", "))
}

// tailRecord returns the last line of a rotated segment, decoded. A
// segment is complete by construction, so an empty one or one that ends
// mid-line is an error.
func tailRecord(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read audit log segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read audit log segment: %w", err)
	}
	size := fi.Size()
	if size == 0 {
		return nil, fmt.Errorf("audit log segment %s is empty", path)
	}
	for n := min(size, 64<<10); ; n = min(size, 2*n) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read audit log segment %s: %w", path, err)
		}
		if buf[n-1] != '\n' {
			return nil, fmt.Errorf("audit log segment %s ends mid-line", path)
		}
		i := bytes.LastIndexByte(buf[:n-1], '\n')
		if i >= 0 || n == size {
			rec, err := ParseLine(buf[i+1 : n-1])
			if err != nil {
				return nil, fmt.Errorf("last line of audit log segment %s: %w", path, err)
			}
			return rec, nil
		}
		if n > MaxLineBytes+1 {
			return nil, fmt.Errorf("last line of audit log segment %s is longer than %d bytes", path, MaxLineBytes)
		}
	}
}
