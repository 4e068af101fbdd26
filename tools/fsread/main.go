// Command fsread is the toolwarden fsread tool: it reads a file, lists a
// directory, or searches files for a regular expression, inside the
// directories the call's grant mounts read-only. It is built for
// GOOS=wasip1 GOARCH=wasm and opens every path through tools/sdk.Open,
// which leaves resolving and refusing paths to the broker: a path outside
// the mounts is refused there and recorded in the call's audit record.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

// Caps that keep a reply small and a call short.
const (
	maxReadBytes       = 128 << 10 // content returned by read
	maxEntries         = 1000      // entries returned by list
	maxPatternBytes    = 1024      // length of a search pattern
	maxMatches         = 200       // matches returned by search
	maxSearchFiles     = 2000      // files search opens
	maxSearchFileBytes = 1 << 20   // bytes of one file search reads
	maxSearchDepth     = 16        // directory levels search descends
	maxLineBytes       = 64 << 10  // longest line search scans
	maxMatchTextBytes  = 256       // text of one match returned
)

// args is the argument object.
type args struct {
	Path    *string `json:"path"`
	Op      string  `json:"op"`
	Pattern *string `json:"pattern"`
}

// opener opens a path in the mounts; sdk.Open in the tool.
type opener func(name string) (*os.File, error)

func main() {
	sdk.Run(func(_ context.Context, raw json.RawMessage) (any, error) {
		return run(raw, sdk.Open)
	})
}

func run(raw json.RawMessage, open opener) (any, error) {
	var a args
	if err := sdk.Decode(raw, &a); err != nil {
		return nil, err
	}
	if a.Path == nil || *a.Path == "" {
		return nil, errors.New(`missing required argument "path"`)
	}
	if a.Op != "search" && a.Pattern != nil {
		return nil, errors.New(`argument "pattern" is only for op "search"`)
	}
	switch a.Op {
	case "", "read":
		return read(open, *a.Path)
	case "list":
		return list(open, *a.Path)
	case "search":
		if a.Pattern == nil || *a.Pattern == "" {
			return nil, errors.New(`op "search" needs argument "pattern"`)
		}
		return search(open, *a.Path, *a.Pattern)
	default:
		return nil, fmt.Errorf("op %q is not read, list or search", a.Op)
	}
}

// openErr words an open failure for the caller.
func openErr(name string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: refused by the sandbox (outside the mounted directories, a link out of them, or not a plain file)", name)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file or directory", name)
	}
	return fmt.Errorf("%s: %w", name, err)
}

type readReply struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	Content   string `json:"content"`
	Encoding  string `json:"encoding"` // "utf-8", or "base64" for other bytes
	Truncated bool   `json:"truncated"`
}

func read(open opener, name string) (any, error) {
	f, err := open(name)
	if err != nil {
		return nil, openErr(name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, openErr(name, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf(`%s is a directory: use op "list"`, name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxReadBytes+1))
	if err != nil {
		return nil, openErr(name, err)
	}
	r := readReply{Path: f.Name(), Size: fi.Size(), Encoding: "utf-8"}
	if len(data) > maxReadBytes {
		data, r.Truncated = data[:maxReadBytes], true
		// Do not let the cut split the last character of a text file.
		for i := 1; i < utf8.UTFMax && !utf8.Valid(data); i++ {
			if utf8.Valid(data[:len(data)-i]) {
				data = data[:len(data)-i]
			}
		}
	}
	if utf8.Valid(data) {
		r.Content = string(data)
	} else {
		r.Content, r.Encoding = base64.StdEncoding.EncodeToString(data), "base64"
	}
	return r, nil
}

type entry struct {
	Name string `json:"name"`
	Type string `json:"type"` // file, dir, symlink or other
	Size *int64 `json:"size,omitempty"`
}

type listReply struct {
	Path      string  `json:"path"`
	Entries   []entry `json:"entries"`
	Truncated bool    `json:"truncated"`
}

func list(open opener, name string) (any, error) {
	f, err := open(name)
	if err != nil {
		return nil, openErr(name, err)
	}
	defer f.Close()
	des, err := f.ReadDir(maxEntries + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, openErr(name, err)
	}
	r := listReply{Path: f.Name(), Entries: []entry{}}
	if len(des) > maxEntries {
		des, r.Truncated = des[:maxEntries], true
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, d := range des {
		e := entry{Name: d.Name(), Type: kind(d.Type())}
		if e.Type == "file" {
			e.Size = size(open, path.Join(f.Name(), d.Name()))
		}
		r.Entries = append(r.Entries, e)
	}
	return r, nil
}

// size returns the size of a file the broker lets the tool open, or nil.
func size(open opener, name string) *int64 {
	f, err := open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	n := fi.Size()
	return &n
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

type match struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Text string `json:"text"`
}

type searchReply struct {
	Path          string  `json:"path"`
	Pattern       string  `json:"pattern"`
	Matches       []match `json:"matches"`
	FilesSearched int     `json:"files_searched"`
	Truncated     bool    `json:"truncated"` // a cap stopped the search early
}

// searcher walks a tree and collects matches.
type searcher struct {
	open opener
	re   *regexp.Regexp
	r    searchReply
}

// errStop ends the walk at a cap.
var errStop = errors.New("stop")

func search(open opener, name, pattern string) (any, error) {
	if len(pattern) > maxPatternBytes {
		return nil, fmt.Errorf("pattern is longer than %d bytes", maxPatternBytes)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern: %w", err)
	}
	f, err := open(name)
	if err != nil {
		return nil, openErr(name, err)
	}
	s := &searcher{open: open, re: re, r: searchReply{Path: f.Name(), Pattern: pattern, Matches: []match{}}}
	if err := s.visit(f, 0); err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return s.r, nil
}

// visit searches f (a file or a directory) and closes it. Entries that are
// links, special files or refused are skipped, not followed.
func (s *searcher) visit(f *os.File, depth int) error {
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return openErr(f.Name(), err)
	}
	if !fi.IsDir() {
		return s.file(f)
	}
	if depth >= maxSearchDepth {
		s.r.Truncated = true
		return nil
	}
	des, err := f.ReadDir(-1)
	if err != nil {
		return openErr(f.Name(), err)
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, d := range des {
		if !d.Type().IsRegular() && !d.IsDir() {
			continue
		}
		child, err := s.open(path.Join(f.Name(), d.Name()))
		if err != nil {
			continue // refused (and recorded by the broker) or gone
		}
		if err := s.visit(child, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// file scans one file's lines.
func (s *searcher) file(f *os.File) error {
	if s.r.FilesSearched >= maxSearchFiles {
		s.r.Truncated = true
		return errStop
	}
	s.r.FilesSearched++
	data, err := io.ReadAll(io.LimitReader(f, maxSearchFileBytes+1))
	if err != nil {
		return nil
	}
	if len(data) > maxSearchFileBytes {
		data, s.r.Truncated = data[:maxSearchFileBytes], true
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil // binary
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if !s.re.MatchString(text) {
			continue
		}
		if len(s.r.Matches) >= maxMatches {
			s.r.Truncated = true
			return errStop
		}
		s.r.Matches = append(s.r.Matches, match{Path: f.Name(), Line: line, Text: shorten(text)})
	}
	if sc.Err() != nil {
		s.r.Truncated = true // a line longer than maxLineBytes ends this file
	}
	return nil
}

// shorten returns text as valid UTF-8, cut at maxMatchTextBytes.
func shorten(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if len(text) <= maxMatchTextBytes {
		return text
	}
	cut := maxMatchTextBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}
