package audit

import (
	"errors"
	"fmt"
)

// Reason codes carried by [Error].
const (
	// CodeUnavailable means the record is not known to be durable: the log
	// could not be written or synced, is in its failed state, is closed, or
	// the caller stopped waiting. The broker refuses the call (fail closed).
	CodeUnavailable = "audit.unavailable"
	// CodeInvalidRecord means the record cannot be encoded (arguments that
	// are not valid JSON, a time outside years 0–9999, a line over
	// [MaxLineBytes]). Nothing was written and the log stays usable.
	CodeInvalidRecord = "audit.invalid_record"
)

// ErrClosed is the cause of the [CodeUnavailable] error returned by
// [Log.Append] after [Log.Close].
var ErrClosed = errors.New("audit log closed")

// Error is a failure of [Log.Append] with a stable reason code.
type Error struct {
	Code   string // CodeUnavailable or CodeInvalidRecord
	Public string // safe to show the caller
	Err    error  // internal cause
}

// Error returns the code, the public message and the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Public + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Public
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonCode returns the stable reason code.
func (e *Error) ReasonCode() string { return e.Code }

func unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Public: "audit log unavailable", Err: err}
}

func invalidRecord(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRecord, Public: "audit record cannot be encoded", Err: fmt.Errorf(format, args...)}
}

// Kinds of [VerifyError].
const (
	KindEdited     = "edited"     // a line is not canonical, or its hash or prev does not match
	KindMissing    = "missing"    // seq jumps forward: records were deleted
	KindReordered  = "reordered"  // seq goes back, or a later line holds the expected seq
	KindMalformed  = "malformed"  // a line is not a record (bad JSON, unknown field, too long)
	KindTorn       = "torn"       // the last line has no trailing newline (a write cut short)
	KindTruncated  = "truncated"  // the log ends before the last signed checkpoint
	KindCheckpoint = "checkpoint" // a checkpoint line is malformed or its signature does not verify
)

// VerifyError is the first problem [Verify] found.
//
// Line is 1-based. For every Kind but [KindCheckpoint] it is a line of the
// log; for KindCheckpoint it is a line of the checkpoints file. File names
// that file when the verifier read files ([VerifyLog], [Open]), and is ""
// when it read a stream ([Verify], [VerifyAnchored]).
type VerifyError struct {
	File string
	Line int
	Kind string // one of the Kind constants
	Msg  string
}

// Error returns "line N: kind: msg", preceded by "FILE: " when File is set.
func (e *VerifyError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s: line %d: %s: %s", e.File, e.Line, e.Kind, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Kind, e.Msg)
}
