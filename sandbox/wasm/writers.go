package wasm

import (
	"bytes"

	"github.com/toolwarden/toolwarden/sandbox"
)

// stdoutWriter keeps a tool's stdout up to limit bytes. The write that
// would pass the limit fails, records the overflow and calls stop, which
// cancels the call so wazero closes the instance: a tool that ignores the
// write error cannot keep running.
//
// wazero calls Write on the goroutine running the guest; the fields are read
// on the same goroutine after the call returns.
type stdoutWriter struct {
	limit    int64
	stop     func()
	buf      bytes.Buffer
	exceeded bool
}

func (w *stdoutWriter) Write(p []byte) (int, error) {
	if w.exceeded || int64(w.buf.Len())+int64(len(p)) > w.limit {
		if !w.exceeded {
			w.exceeded = true
			w.stop()
		}
		return 0, &sandbox.OutputLimitError{Limit: w.limit}
	}
	return w.buf.Write(p)
}

// stderrWriter keeps the first limit bytes of a tool's stderr and drops the
// rest without failing the tool.
type stderrWriter struct {
	limit     int64
	buf       bytes.Buffer
	truncated bool
}

func (w *stderrWriter) Write(p []byte) (int, error) {
	room := w.limit - int64(w.buf.Len())
	if int64(len(p)) > room {
		w.truncated = true
		if room > 0 {
			w.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return w.buf.Write(p)
}
