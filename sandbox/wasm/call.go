package wasm

import (
	"context"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

// Reason codes of refused file accesses, recorded as the Reason of a
// [sandbox.EgressAttempt] with Host "file" and Path set. The guest sees
// EPERM (EROFS for [CodeFSReadOnly]).
const (
	// CodeFSEscape: the path leaves the mount, by "..", by being absolute,
	// or through a symbolic link (absolute, relative, or created on the
	// host while the call ran).
	CodeFSEscape = abi.CodeFSEscape
	// CodeFSHardLink: a regular file with more than one hard link, which
	// may be a link to a file outside the mount.
	CodeFSHardLink = abi.CodeFSHardLink
	// CodeFSSpecial: neither a regular file nor a directory (device, FIFO,
	// socket).
	CodeFSSpecial = abi.CodeFSSpecial
	// CodeFSReadOnly: a write, create, truncate, delete, rename, link or
	// attribute change; mounts are read-only.
	CodeFSReadOnly = abi.CodeFSReadOnly
	// CodeFSRefusalsDropped: the call was refused more file accesses than
	// are recorded one by one ([maxFileRefusals]); the rest are not listed.
	CodeFSRefusalsDropped = abi.CodeFSRefusalsDropped
)

// FileHost is the Host of every file entry in [sandbox.Result].Egress.
const FileHost = "file"

// maxFileRefusals bounds the refused file accesses recorded per call, so a
// looping tool cannot grow the audit record without bound.
const maxFileRefusals = 64

// maxRecordedPathBytes bounds a path as recorded.
const maxRecordedPathBytes = 512

// callState is the host-side state of one call: its egress client, the
// reply waiting for http_reply_v1, its mounts and the record of what it
// tried. Host functions and the path listener find it in the call's
// context.
type callState struct {
	base   egress.Config // Allow set to the call's grant
	mounts []string      // guest paths, in preopen order (fd 3, 4, ...)

	mu           sync.Mutex // guards following
	client       *egress.Client
	clientErr    error
	pending      []byte // reply too large for the guest's buffer
	records      []sandbox.EgressAttempt
	seenAttempts int // egress attempts already copied into records
	fileRefusals int
}

type stateKey struct{}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// egressClient returns the call's client, made on first use: a call that
// never reaches for the network costs nothing.
func (st *callState) egressClient() (*egress.Client, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.client == nil && st.clientErr == nil {
		st.client, st.clientErr = egress.New(st.base)
	}
	return st.client, st.clientErr
}

// syncAttempts appends the egress attempts made since the last sync, so
// network and file entries stay in the order they happened.
func (st *callState) syncAttempts() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.client == nil {
		return
	}
	all := st.client.Attempts()
	if len(all) > st.seenAttempts {
		st.records = append(st.records, all[st.seenAttempts:]...)
		st.seenAttempts = len(all)
	}
}

// refuseFile records a refused file access.
func (st *callState) refuseFile(path, code string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.fileRefusals++
	switch {
	case st.fileRefusals <= maxFileRefusals:
		st.records = append(st.records, sandbox.EgressAttempt{Host: FileHost, Path: recordPath(path), Reason: code})
	case st.fileRefusals == maxFileRefusals+1:
		st.records = append(st.records, sandbox.EgressAttempt{Host: FileHost, Reason: CodeFSRefusalsDropped})
	}
}

// takePending returns and clears the pending reply.
func (st *callState) takePending() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.pending
	st.pending = nil
	return p
}

func (st *callState) setPending(p []byte) {
	st.mu.Lock()
	st.pending = p
	st.mu.Unlock()
}

// result returns every entry recorded, egress and file, in order.
func (st *callState) result() []sandbox.EgressAttempt {
	st.syncAttempts()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.records) == 0 {
		return nil
	}
	return append([]sandbox.EgressAttempt(nil), st.records...)
}

// recordPath makes a guest-supplied path safe to record: valid UTF-8, no
// control characters, bounded.
func recordPath(p string) string {
	if len(p) > 4*maxRecordedPathBytes {
		p = p[:4*maxRecordedPathBytes]
	}
	p = strings.ToValidUTF8(p, "\uFFFD")
	if len(p) > maxRecordedPathBytes {
		cut := maxRecordedPathBytes
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		p = p[:cut]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, p)
}
