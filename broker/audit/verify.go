package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Report is what [Verify] found.
type Report struct {
	// Records is the number of records whose chain verified: all of them on
	// success, those before the first problem otherwise.
	Records int
	// Head is the hash of the last verified record, "" for an empty log.
	Head string

	// The fields below are set when VerifyConfig.PublicKey is.

	// Origin is the origin named by the checkpoints.
	Origin string
	// Checkpoints is the number of signed checkpoints that verified.
	Checkpoints int
	// Anchored is the number of records covered by the last signed
	// checkpoint: an edit, deletion, reordering or truncation among them is
	// detected even if the attacker rewrote the whole chain.
	Anchored int
	// Unanchored is the number of records after the last checkpoint. Their
	// chain verified, but deleting them from the end, or rewriting them with
	// recomputed hashes, is not detectable until a checkpoint covers them.
	Unanchored int
	// CheckpointTime is the time signed in the last checkpoint that
	// verified.
	CheckpointTime time.Time

	// Files is the number of files read: rotated segments and the active
	// file.
	Files int
}

// VerifyConfig says what [Verify] checks besides the chain.
type VerifyConfig struct {
	// PublicKey verifies signed checkpoints. Nil means the chain alone is
	// verified and no checkpoints are read.
	PublicKey ed25519.PublicKey
	// Checkpoints is the checkpoints file to hold the log to, e.g. a copy
	// kept where the broker cannot write. "" means CheckpointsPath(path).
	Checkpoints string
}

// Verify verifies the log at path as one hash chain across its files
// (see [Segments]): each rotated segment in order of its first seq, then
// path itself.
//
// Each line must be one record followed by a newline, byte-identical to
// the canonical encoding of the record it decodes to (see the package
// documentation), with seq one more than the line before (1 for the
// first, and across files), prev equal to the previous line's hash ("" for
// the first) and hash equal to the recomputed hash.
//
// With cfg.PublicKey set, the checkpoints file must exist: every
// signature is checked with the key and all must name one origin, the hash
// of each checkpoint's last record must be the head it signed, and the log
// must reach the last checkpoint. The [Report] then says how many records
// the last checkpoint anchors and how many follow it unanchored. Without
// it, records cut from the end of the log, or a whole chain rewritten with
// recomputed hashes, go unnoticed.
//
// Verify returns a [Report] in every case; on failure its counts stop
// before the first bad line, and the error is a *[VerifyError] naming the
// file and the line, or an I/O error. A problem in the checkpoints file is
// [KindCheckpoint] at a line of that file; a log cut short of a checkpoint
// is [KindTruncated]; a rewritten chain is [KindEdited] at the first record
// whose hash differs from a signed head (or earlier); a rotated segment
// that ends mid-line is [KindEdited]: only the active file can be torn by
// a crash. Verify never panics; lines longer than [MaxLineBytes] are
// malformed.
func Verify(path string, cfg VerifyConfig) (*Report, error) {
	files, err := Segments(path)
	if err != nil {
		return &Report{}, fmt.Errorf("verify audit log: %w", err)
	}
	rep, err := verifyFiles(path, files, cfg)
	if err == nil {
		return rep, nil
	}
	// A live log may have rotated between listing its files and reading
	// them: the active file then starts past the last segment listed. Such
	// a break is read again once, from a fresh list, before it is reported.
	if again, lerr := Segments(path); lerr == nil && !slices.Equal(again, files) {
		return verifyFiles(path, again, cfg)
	}
	return rep, err
}

// verifyFiles is Verify over a given list of files.
func verifyFiles(path string, files []string, cfg VerifyConfig) (*Report, error) {
	var s checkpointScan
	if cfg.PublicKey != nil {
		if len(cfg.PublicKey) != ed25519.PublicKeySize {
			return &Report{}, fmt.Errorf("verify audit log: public key is %d bytes, want %d", len(cfg.PublicKey), ed25519.PublicKeySize)
		}
		cp := cfg.Checkpoints
		if cp == "" {
			cp = CheckpointsPath(path)
		}
		cf, err := os.Open(cp)
		if err != nil {
			return &Report{}, fmt.Errorf("verify audit log checkpoints: %w", err)
		}
		s, err = readCheckpoints(cf, cfg.PublicKey, "")
		cf.Close()
		if err != nil {
			if ve, ok := err.(*VerifyError); ok {
				ve.File = cp
			}
			return &Report{Origin: s.origin}, err
		}
	}
	v := newVerifier(nil, s.refs)
	rep := &Report{}
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return v.anchor(rep, s), fmt.Errorf("verify audit log: %w", err)
		}
		v.reset(f, name)
		rep.Files++
		if err = v.lines(); err == nil {
			if i < len(files)-1 && v.torn {
				err = v.fail(KindEdited, "rotated segment ends mid-line (%d bytes after the last newline): only the active file can be torn by a crash", v.tornLen)
			} else if i == len(files)-1 {
				err = v.end()
			}
		}
		f.Close()
		if err != nil {
			return v.anchor(rep, s), err
		}
	}
	var err error
	if len(files) == 0 {
		err = v.end()
	}
	return v.anchor(rep, s), err
}

// verifier walks a log line by line, across one or more files.
type verifier struct {
	lr   lineReader
	cps  []checkpointRef // signed checkpoints, in order of count
	next int             // index of the next checkpoint to reach
	file string          // named in errors

	line      int    // 1-based number of the current line in the file
	lineStart int64  // offset of the current line
	records   int    // records verified
	seq       uint64 // seq of the last verified record
	head      string // hash of the last verified record
	first     uint64 // seq of the first record verified in this file

	// torn is set when the last line has no trailing newline: it starts at
	// tornAt and is tornLen bytes long.
	torn    bool
	tornAt  int64
	tornLen int64
}

// checkpointRef is the part of a verified checkpoint the chain is held to.
type checkpointRef struct {
	count uint64
	head  string
	line  int // line in the checkpoints file
	time  time.Time
}

func newVerifier(r io.Reader, cps []checkpointRef) *verifier {
	v := &verifier{cps: cps}
	if r != nil {
		v.lr = newLineReader(r)
	}
	return v
}

func (v *verifier) report() *Report {
	return &Report{Records: v.records, Head: v.head}
}

// reset points v at the next file of the log; the chain state carries on.
func (v *verifier) reset(r io.Reader, file string) {
	v.lr = newLineReader(r)
	v.file = file
	v.line, v.lineStart, v.first = 0, 0, 0
	v.torn, v.tornAt, v.tornLen = false, 0, 0
}

// startAt starts the chain after a record verified elsewhere (the tail of
// the last rotated segment): checkpoints up to it are taken as checked.
func (v *verifier) startAt(seq uint64, head string) {
	v.seq, v.head = seq, head
	for v.next < len(v.cps) && v.cps[v.next].count <= seq {
		v.next++
	}
}

// anchor fills rep with the chain counts and how far the checkpoints of s
// anchor them.
func (v *verifier) anchor(rep *Report, s checkpointScan) *Report {
	rep.Records, rep.Head, rep.Origin = v.records, v.head, s.origin
	for _, r := range s.refs {
		if r.count > v.seq || (r.count == v.seq && r.head != v.head) {
			break
		}
		rep.Checkpoints++
		rep.Anchored = int(r.count)
		rep.CheckpointTime = r.time
	}
	rep.Unanchored = rep.Records - rep.Anchored
	return rep
}

// run verifies every line of a single-file log: lines, then end.
func (v *verifier) run() error {
	if err := v.lines(); err != nil {
		return err
	}
	return v.end()
}

// lines verifies every complete line of the current file and returns the
// first *VerifyError, or a read error. A torn last line is recorded in
// v.torn, not returned.
func (v *verifier) lines() error {
	for {
		v.lineStart = v.lr.off
		line, terminated, tooLong, err := v.lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read audit log line %d: %w", v.line+1, err)
		}
		v.line++
		if !terminated {
			v.torn, v.tornAt, v.tornLen = true, v.lineStart, v.lr.off-v.lineStart
			break
		}
		if tooLong {
			return v.fail(KindMalformed, "line longer than %d bytes", MaxLineBytes)
		}
		rec, verr := v.check(line)
		if verr != nil {
			return verr
		}
		if v.first == 0 {
			v.first = rec.Seq
		}
		for v.next < len(v.cps) && v.cps[v.next].count <= v.seq {
			cp := v.cps[v.next]
			if cp.count == v.seq && cp.head != v.head {
				return v.fail(KindEdited, "hash %s differs from head %s signed by checkpoint %d (checkpoints line %d): the chain up to here was rewritten", short(rec.Hash), short(cp.head), v.next+1, cp.line)
			}
			v.next++
		}
	}
	return nil
}

// end checks the end of the log: a truncation against the checkpoints,
// then a torn last line.
func (v *verifier) end() error {
	if n := len(v.cps); n > 0 && v.cps[n-1].count > v.seq {
		cp := v.cps[n-1]
		return &VerifyError{File: v.file, Line: v.line + 1, Kind: KindTruncated,
			Msg: fmt.Sprintf("log ends after seq %d but checkpoint %d (checkpoints line %d) signs %d records", v.seq, n, cp.line, cp.count)}
	}
	if v.torn {
		return v.fail(KindTorn, "last line has no trailing newline (%d bytes): a write was cut short", v.tornLen)
	}
	return nil
}

func (v *verifier) fail(kind, format string, args ...any) *VerifyError {
	return &VerifyError{File: v.file, Line: v.line, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// check verifies one complete line against the chain and advances it.
func (v *verifier) check(line []byte) (*Record, *VerifyError) {
	rec, err := ParseLine(line)
	if err != nil && rekeyed(err) {
		return nil, v.fail(KindEdited, "line is not the canonical encoding of a record: %v", err)
	}
	if err != nil {
		return nil, v.fail(KindMalformed, "not a record: %v", err)
	}
	enc, err := canonical(rec)
	if err != nil {
		return nil, v.fail(KindMalformed, "record cannot be re-encoded: %v", err)
	}
	if !bytes.Equal(enc, line) {
		return nil, v.fail(KindEdited, "line is not the canonical encoding of its record (first difference at byte %d)", firstDiff(enc, line))
	}
	want := v.seq + 1
	switch {
	case rec.Seq == want && rec.Prev != v.head:
		return nil, v.fail(KindEdited, "seq %d has prev %s, want %s (the hash of seq %d)", rec.Seq, short(rec.Prev), short(v.head), v.seq)
	case rec.Seq > want && rec.Prev == v.head:
		return nil, v.fail(KindEdited, "seq %d where %d expected, but prev matches seq %d: seq was changed", rec.Seq, want, v.seq)
	case rec.Seq > want:
		if at := v.lookahead(want, rec.Seq); at > 0 {
			return nil, v.fail(KindReordered, "seq %d where %d expected; a record with seq in [%d, %d) is at line %d", rec.Seq, want, want, rec.Seq, at)
		}
		return nil, v.fail(KindMissing, "seq jumps from %d to %d: %d record(s) deleted", v.seq, rec.Seq, rec.Seq-want)
	case rec.Seq < want:
		return nil, v.fail(KindReordered, "seq %d after seq %d: out of order or repeated", rec.Seq, v.seq)
	}
	open := line[:len(line)-len(rec.Hash)-len(`"}`)]
	if got := chainHash(rec.Prev, open); got != rec.Hash {
		return nil, v.fail(KindEdited, "seq %d: hash %s does not match the record (recomputed %s)", rec.Seq, short(rec.Hash), short(got))
	}
	v.records++
	v.seq, v.head = rec.Seq, rec.Hash
	return rec, nil
}

// lookahead reads the rest of the log and returns the line number of the
// first record whose seq is in [lo, hi), or 0. It tells a swap from a
// deletion; it runs only once verification has already failed.
func (v *verifier) lookahead(lo, hi uint64) int {
	line := v.line
	for {
		b, terminated, tooLong, err := v.lr.next()
		if err != nil {
			return 0
		}
		line++
		if !terminated || tooLong {
			continue
		}
		var s struct {
			Seq *uint64 `json:"seq"`
		}
		if strictjson.Unmarshal(b, &s, strictjson.Limits{MaxBytes: MaxLineBytes, AllowUnknownFields: true}) == nil && s.Seq != nil && *s.Seq >= lo && *s.Seq < hi {
			return line
		}
	}
}

// ParseLine decodes one line of a log (without its newline) strictly as a
// Record (see strictjson.Unmarshal): one object, known members only, named
// exactly. It does not check the line's place in the chain; [Verify] does.
func ParseLine(line []byte) (*Record, error) {
	var rec Record
	if err := decodeStrict(line, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// decodeStrict decodes line as exactly one JSON object with no unknown
// fields and nothing after it.
func decodeStrict(line []byte, v any) error {
	if len(line) == 0 || line[0] != '{' {
		return errors.New("line is not a JSON object")
	}
	if line[len(line)-1] != '}' {
		return errors.New("data after the object")
	}
	return strictjson.Unmarshal(line, v, strictjson.Limits{MaxBytes: MaxLineBytes})
}

// rekeyed reports whether err refuses a line for a key spelt differently
// from the record's field or repeated: the mark of an edit, not of a line
// that was never a record.
func rekeyed(err error) bool {
	se, ok := errors.AsType[*strictjson.Error](err)
	return ok && (se.Code == strictjson.CodeFieldCase || se.Code == strictjson.CodeDuplicateKey || se.Code == strictjson.CodeCaseVariantKey)
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// short abbreviates a hash for messages.
func short(h string) string {
	switch {
	case h == "":
		return `""`
	case len(h) > 12:
		return h[:12] + "…"
	}
	return fmt.Sprintf("%q", h)
}

// lineReader splits a stream into lines of at most MaxLineBytes.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	off int64 // offset of the next unread byte
}

func newLineReader(r io.Reader) lineReader {
	return lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its newline and whether it had one.
// A line longer than MaxLineBytes is consumed whole and returned empty
// with tooLong set. At the end of input next returns io.EOF.
func (lr *lineReader) next() (line []byte, terminated, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	n := 0
	for {
		frag, err := lr.r.ReadSlice('\n')
		n += len(frag)
		lr.off += int64(len(frag))
		if !tooLong {
			if len(lr.buf)+len(frag) > MaxLineBytes+1 {
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if n == 0 {
				return nil, false, false, io.EOF
			}
			return lr.buf, false, tooLong, nil
		case err != nil:
			return nil, false, false, err
		}
		if tooLong {
			return nil, true, true, nil
		}
		return lr.buf[:len(lr.buf)-1], true, false, nil
	}
}
