package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/toolwarden/toolwarden/sandbox/abi"
)

// maxEgressReplyBytes caps a proxy reply the SDK reads (the broker caps
// response bodies far lower).
const maxEgressReplyBytes = 64 << 20

// EgressError is a request the broker's egress proxy refused or could not
// complete. Code is the broker's reason code, e.g. "egress.denied_host".
type EgressError = abi.Error

// HTTPClient returns an http.Client whose only way out is the broker's
// egress proxy: every request is sent, as an egress ABI v1 request, over
// the Unix socket named by $TOOLWARDEN_EGRESS_SOCKET, and the broker makes
// it under the call's grant, caps and audit. The plugin has no other
// network path.
//
// # Notes
//
// The broker follows redirects itself (each hop checked), so the client
// never does; it returns the final response. A request the broker refuses
// fails with an [*EgressError]. When the broker cut the response body at
// the call's byte cap, reading the body ends with an [*EgressError]
// instead of io.EOF. Request bodies are read whole before sending.
func HTTPClient() *http.Client {
	return &http.Client{
		Transport: &egressTransport{socket: os.Getenv(EgressSocketEnv)},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

type egressTransport struct {
	socket string
}

func (t *egressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if t.socket == "" {
		return nil, &EgressError{Code: abi.CodeEgressDenied, Message: "this plugin has no egress proxy"}
	}
	wire := abi.Request{Method: req.Method, URL: req.URL.String(), Headers: req.Header}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		wire.Body = b
	}
	payload, err := json.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("encode egress request: %w", err)
	}
	reply, err := t.send(req.Context(), payload)
	if err != nil {
		return nil, err
	}
	if reply.Response == nil {
		if reply.Error == nil {
			return nil, errors.New("egress proxy sent an empty reply")
		}
		return nil, reply.Error
	}
	r := reply.Response
	var body io.Reader = bytes.NewReader(r.Body)
	if reply.Error != nil {
		body = io.MultiReader(body, errReader{reply.Error})
	}
	return &http.Response{
		Status:        strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		StatusCode:    r.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header(r.Headers),
		Body:          io.NopCloser(body),
		ContentLength: int64(len(r.Body)),
		Request:       req,
	}, nil
}

// send posts one request to the proxy and decodes its reply.
func (t *egressTransport) send(ctx context.Context, payload []byte) (*abi.Reply, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", t.socket)
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	hreq, err := http.NewRequest(http.MethodPost, "http://egress/v1/request", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if err := hreq.Write(conn); err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	hres, err := http.ReadResponse(bufio.NewReader(conn), hreq)
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	defer hres.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hres.Body, maxEgressReplyBytes))
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	reply, err := abi.DecodeReply(data)
	if err != nil {
		return nil, fmt.Errorf("egress proxy: bad reply (HTTP %d): %w", hres.StatusCode, err)
	}
	return &reply, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
