package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode"
)

// CheckpointsPath returns the file that holds the signed checkpoints of the
// log at logPath: logPath + ".checkpoints".
func CheckpointsPath(logPath string) string { return logPath + ".checkpoints" }

// checkpoint is one line of the checkpoints file.
type checkpoint struct {
	Origin string    `json:"origin"`
	Count  uint64    `json:"count"` // records covered: seq of the last one
	Head   string    `json:"head"`  // hash of record Count
	Time   time.Time `json:"time"`
	KeyID  string    `json:"key_id"`
	Sig    []byte    `json:"sig"` // ed25519 over signedText, base64
}

// signedText is the message a checkpoint's signature covers.
func (c *checkpoint) signedText() []byte {
	var b []byte
	b = append(b, "toolwarden audit checkpoint v1\norigin "...)
	b = append(b, c.Origin...)
	b = append(b, "\ncount "...)
	b = strconv.AppendUint(b, c.Count, 10)
	b = append(b, "\nhead "...)
	b = append(b, c.Head...)
	b = append(b, "\ntime "...)
	b = c.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '\n')
	return b
}

// keyID names a public key: the first 8 bytes of its SHA-256, in hex.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func checkOrigin(origin string) error {
	if len(origin) > 1024 {
		return fmt.Errorf("%d bytes, want at most 1024", len(origin))
	}
	for _, r := range origin {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufffd' {
			return fmt.Errorf("%q contains a control or invalid character", origin)
		}
	}
	return nil
}

// checkpointScan is what readCheckpoints found.
type checkpointScan struct {
	refs    []checkpointRef // valid checkpoints before any problem
	origin  string
	torn    bool
	tornAt  int64
	tornLen int64
}

// readCheckpoints reads a checkpoints file and checks each line: strict
// decoding, the key, the signature, one origin (want, unless ""), counts
// strictly increasing. It stops at the first problem, a *VerifyError of
// kind KindCheckpoint, and returns the checkpoints before it.
func readCheckpoints(r io.Reader, pub ed25519.PublicKey, want string) (checkpointScan, error) {
	var s checkpointScan
	id := keyID(pub)
	lr := newLineReader(r)
	for n := 1; ; n++ {
		start := lr.off
		line, terminated, tooLong, err := lr.next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, fmt.Errorf("read checkpoints line %d: %w", n, err)
		}
		bad := func(format string, args ...any) error {
			return &VerifyError{Line: n, Kind: KindCheckpoint, Msg: "checkpoints file: " + fmt.Sprintf(format, args...)}
		}
		switch {
		case !terminated:
			s.torn, s.tornAt, s.tornLen = true, start, lr.off-start
			return s, bad("last line has no trailing newline (%d bytes): a write was cut short", s.tornLen)
		case tooLong:
			return s, bad("line longer than %d bytes", MaxLineBytes)
		}
		var c checkpoint
		if err := decodeStrict(line, &c); err != nil {
			return s, bad("not a checkpoint: %v", err)
		}
		switch {
		case c.KeyID != id:
			return s, bad("signed by key %s, not by the given key %s", c.KeyID, id)
		case !ed25519.Verify(pub, c.signedText(), c.Sig):
			return s, bad("signature does not verify")
		case want != "" && c.Origin != want:
			return s, bad("origin %q, want %q", c.Origin, want)
		case s.origin != "" && c.Origin != s.origin:
			return s, bad("origin %q differs from %q above", c.Origin, s.origin)
		case c.Count == 0:
			return s, bad("count 0")
		case len(s.refs) > 0 && c.Count <= s.refs[len(s.refs)-1].count:
			return s, bad("count %d does not follow %d", c.Count, s.refs[len(s.refs)-1].count)
		}
		s.origin = c.Origin
		s.refs = append(s.refs, checkpointRef{count: c.Count, head: c.Head, line: n, time: c.Time})
	}
}

// recoverCheckpoints opens the checkpoints file, checks it, repairs a torn
// last line, and settles the origin. It returns the valid checkpoints.
func (l *Log) recoverCheckpoints(allowBroken bool) ([]checkpointRef, error) {
	path := CheckpointsPath(l.path)
	f, err := openFile(path, true)
	if err != nil {
		return nil, err
	}
	l.cpf = f
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("open audit checkpoints: %w", err)
	}
	pub := l.key.Public().(ed25519.PublicKey)
	s, err := readCheckpoints(io.NewSectionReader(f, 0, size), pub, l.origin)
	var ve *VerifyError
	if errors.As(err, &ve) {
		ve.File = path
	}
	switch {
	case err == nil:
	case s.torn:
		if err := saveTorn(f, path, s.tornAt, s.tornLen); err != nil {
			return nil, err
		}
		l.logger.Warn("audit checkpoints: torn final line (a write cut short, not tampering); saved and truncated",
			"path", path, "bytes", s.tornLen)
	case errors.As(err, &ve) && allowBroken:
		l.logger.Error("audit checkpoints fail verification; keeping those before the problem because AllowBroken is set",
			"path", path, "line", ve.Line, "msg", ve.Msg)
	case ve != nil:
		return nil, fmt.Errorf("open audit log %s: refusing to extend a log whose checkpoints fail verification at line %d of %s (set AllowBroken to continue): %w", l.path, ve.Line, path, ve)
	default:
		return nil, fmt.Errorf("open audit checkpoints %s: %w", path, err)
	}
	if l.cpSize, err = f.Seek(0, io.SeekEnd); err != nil {
		return nil, fmt.Errorf("open audit checkpoints: %w", err)
	}
	if l.origin == "" {
		l.origin = s.origin
	}
	if l.origin == "" {
		abs, err := filepath.Abs(l.path)
		if err != nil {
			return nil, fmt.Errorf("audit log origin: %w", err)
		}
		l.origin = abs
		if err := checkOrigin(l.origin); err != nil {
			return nil, fmt.Errorf("audit log origin from path: %w", err)
		}
	}
	return s.refs, nil
}

// checkpoint signs the durable head, if a record is unanchored, and
// appends it to the checkpoints file, synced. A failure fails the Log.
func (l *Log) checkpoint() {
	if l.key == nil || l.durableSeq <= l.anchored {
		return
	}
	c := checkpoint{Origin: l.origin, Count: l.durableSeq, Head: l.durableHead, Time: time.Now().UTC(), KeyID: l.keyID}
	c.Sig = ed25519.Sign(l.key, c.signedText())
	b, err := json.Marshal(&c)
	line := append(EscapeLine(b), '\n')
	if err == nil {
		err = writeSync(l.cpf, line)
	}
	if err != nil {
		l.fail(fmt.Errorf("write checkpoint for seq %d to %s: %w", c.Count, l.cpf.Name(), err))
		return
	}
	l.cpSize += int64(len(line))
	l.anchored = l.durableSeq
}

// ExportCheckpoints copies to w, byte for byte, each line of the
// checkpoints file at path signed at or after since (zero means every
// line), and returns how many it copied. With pub set, every line's
// signature must verify first. A torn last line (a checkpoint being
// written) is left out. Keep the copy where the broker cannot write, and
// verify against it with [VerifyConfig].Checkpoints.
func ExportCheckpoints(w io.Writer, path string, since time.Time, pub ed25519.PublicKey) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("export audit checkpoints: %w", err)
	}
	defer f.Close()
	lr := newLineReader(f)
	n := 0
	var id string
	if pub != nil {
		id = keyID(pub)
	}
	for line := 1; ; line++ {
		b, terminated, tooLong, err := lr.next()
		switch {
		case err == io.EOF || (err == nil && !terminated):
			return n, nil
		case err != nil:
			return n, fmt.Errorf("export audit checkpoints: %w", err)
		case tooLong:
			return n, &VerifyError{File: path, Line: line, Kind: KindCheckpoint, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
		}
		var c checkpoint
		if err := decodeStrict(b, &c); err != nil {
			return n, &VerifyError{File: path, Line: line, Kind: KindCheckpoint, Msg: "not a checkpoint: " + err.Error()}
		}
		if pub != nil && (c.KeyID != id || !ed25519.Verify(pub, c.signedText(), c.Sig)) {
			return n, &VerifyError{File: path, Line: line, Kind: KindCheckpoint, Msg: "signature does not verify with the given key"}
		}
		if !since.IsZero() && c.Time.Before(since) {
			continue
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return n, fmt.Errorf("export audit checkpoints: %w", err)
		}
		n++
	}
}
