package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fakeHost replaces the host function for one test.
func fakeHost(t *testing.T, f func(req []byte) ([]byte, error)) {
	t.Helper()
	testRoundTrip = f
	t.Cleanup(func() { testRoundTrip = nil })
}

func TestFetch(t *testing.T) {
	var sent []byte
	for _, tc := range []struct {
		name      string
		reply     string
		wantBody  string
		wantTrunc bool
		wantCode  string // of an *EgressError
		wantErr   string // of another error
	}{
		{name: "response", reply: `{"response":{"status":200,"url":"https://a.test/","headers":{"Content-Type":["text/plain"]},"body":"aGk="}}`, wantBody: "hi"},
		{name: "refused", reply: `{"error":{"code":"egress.denied_host","message":"host \"a.test\" is not in the egress allowlist"}}`, wantCode: "egress.denied_host"},
		{name: "cut at the cap", reply: `{"response":{"status":200,"url":"https://a.test/","body":"aGk=","truncated":true},"error":{"code":"egress.response_too_large","message":"response bytes exceed the per-call limit of 2"}}`, wantBody: "hi", wantTrunc: true, wantCode: CodeResponseTooLarge},
		{name: "empty reply", reply: `{}`, wantErr: "neither a response nor an error"},
		{name: "not json", reply: `{`, wantErr: "the broker's reply is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeHost(t, func(req []byte) ([]byte, error) {
				sent = req
				return []byte(tc.reply), nil
			})
			res, err := Fetch(context.Background(), HTTPRequest{Method: "POST", URL: "https://a.test/", Headers: map[string][]string{"X-A": {"1"}}, Body: []byte("body")})
			if want := `{"method":"POST","url":"https://a.test/","headers":{"X-A":["1"]},"body":"Ym9keQ=="}`; string(sent) != want {
				t.Errorf("Fetch sent %s, want %s", sent, want)
			}
			var ee *EgressError
			switch {
			case tc.wantCode != "":
				if !errors.As(err, &ee) || ee.Code != tc.wantCode || !strings.HasPrefix(err.Error(), tc.wantCode+": ") {
					t.Errorf("Fetch error = %v, want an *EgressError with code %s", err, tc.wantCode)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Fetch error = %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("Fetch error = %v", err)
			}
			if tc.wantBody == "" {
				if res != nil {
					t.Errorf("Fetch response = %+v, want nil", res)
				}
				return
			}
			if res == nil || string(res.Body) != tc.wantBody || res.Truncated != tc.wantTrunc || res.Status != 200 {
				t.Errorf("Fetch response = %+v, want body %q truncated %v", res, tc.wantBody, tc.wantTrunc)
			}
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	fakeHost(t, func([]byte) ([]byte, error) {
		t.Error("the host was called with a canceled context")
		return nil, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fetch(ctx, HTTPRequest{URL: "https://a.test/"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch(canceled) error = %v, want context.Canceled", err)
	}
}

func TestFetchOutsideWasm(t *testing.T) {
	_, err := Fetch(context.Background(), HTTPRequest{URL: "https://a.test/"})
	var ee *EgressError
	if !errors.As(err, &ee) || ee.Code != CodeEgressDenied {
		t.Errorf("Fetch on the host error = %v, want an *EgressError %s", err, CodeEgressDenied)
	}
}

func TestResponseHeader(t *testing.T) {
	var r HTTPResponse
	if err := json.Unmarshal([]byte(`{"status":200,"url":"u","headers":{"Content-Type":["a","b"],"x-lower":["c"],"Empty":[]}}`), &r); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"Content-Type": "a", "content-type": "a", "X-Lower": "c", "Empty": "", "Missing": ""} {
		if got := r.Header(name); got != want {
			t.Errorf("Header(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRoute(t *testing.T) {
	mounts := []string{"/data", "/data/sub", "/srv/b/", "/"}
	for _, tc := range []struct {
		name     string
		mounts   []string
		wantIdx  int
		wantRest string
	}{
		{"/data/a.txt", mounts, 0, "a.txt"},
		{"/data", mounts, 0, "."},
		{"/data/", mounts, 0, "."},
		{"/data/sub/x", mounts, 1, "x"},
		{"/data/subway", mounts, 0, "subway"},
		{"/data/../etc/passwd", mounts, 0, "../etc/passwd"},
		{"/data//x", mounts, 0, "x"},
		{"/srv/b/c", mounts, 2, "c"},
		{"/etc/passwd", mounts, 3, "etc/passwd"},
		{"/etc/passwd", mounts[:3], 0, "/etc/passwd"},
		{"/datab/x", mounts[:1], 0, "/datab/x"},
		{"a.txt", mounts, 0, "a.txt"},
		{"../x", mounts, 0, "../x"},
		{"", mounts, 0, "."},
		{"/x", nil, -1, ""},
	} {
		i, rest := route(tc.mounts, tc.name)
		if i != tc.wantIdx || rest != tc.wantRest {
			t.Errorf("route(%q, %q) = %d, %q; want %d, %q", tc.mounts, tc.name, i, rest, tc.wantIdx, tc.wantRest)
		}
	}
}

func TestOpenOutsideWasm(t *testing.T) {
	if m := Mounts(); len(m) != 0 {
		t.Errorf("Mounts() on the host = %q, want none", m)
	}
	if _, err := Open("/data/a.txt"); err == nil {
		t.Error("Open on the host error = nil, want an error")
	}
}
