//go:build wasip1

package sdk

import (
	"runtime"
	"strconv"
	"unsafe"
)

// firstReplyBytes is the buffer offered for a reply; a larger reply is
// fetched with a second call, into a buffer of its size.
const firstReplyBytes = 64 << 10

//go:wasmimport toolwarden http_request_v1
func httpRequestV1(reqPtr unsafe.Pointer, reqLen uint32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport toolwarden http_reply_v1
func httpReplyV1(outPtr unsafe.Pointer, outCap uint32) int32

// hostRoundTrip calls toolwarden.http_request_v1, then http_reply_v1 when
// the reply did not fit.
func hostRoundTrip(req []byte) ([]byte, error) {
	out := make([]byte, firstReplyBytes)
	n := httpRequestV1(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)), unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
	runtime.KeepAlive(req)
	if n < 0 {
		return nil, hostError("http_request_v1", n)
	}
	if int(n) <= len(out) {
		return out[:n], nil
	}
	out = make([]byte, n)
	m := httpReplyV1(unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
	if m < 0 {
		return nil, hostError("http_reply_v1", m)
	}
	return out[:m], nil
}

func hostError(fn string, n int32) error {
	return &EgressError{Code: "internal", Message: "toolwarden." + fn + " returned " + strconv.Itoa(int(n))}
}
