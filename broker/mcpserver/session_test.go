package mcpserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// serveLegacy sends one 2025-11-25 message straight to h, as alice.
func serveLegacy(h http.Handler, session, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, EndpointPath, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tokenAlice)
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20251125)
	if session != "" {
		req.Header.Set(server.HeaderKeySessionID, session)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const (
	initializeBody = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"ts-like","version":"1"}}}`
	listBody       = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
)

func TestSessionIdleExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Core: &fakeCore{}, Auth: fakeAuth{}, SessionIdleTimeout: 10 * time.Minute, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer s.Close()
		h := s.Handler()
		start := func() string {
			t.Helper()
			rec := serveLegacy(h, "", initializeBody)
			sid := rec.Header().Get(server.HeaderKeySessionID)
			if rec.Code != http.StatusOK || sid == "" {
				t.Fatalf("initialize: status %d session %q body %s", rec.Code, sid, rec.Body)
			}
			return sid
		}

		// Activity keeps a session alive past the timeout.
		sid := start()
		for range 3 {
			time.Sleep(9 * time.Minute)
			if rec := serveLegacy(h, sid, listBody); rec.Code != http.StatusOK {
				t.Fatalf("tools/list after 9 idle minutes: status %d, want 200", rec.Code)
			}
		}

		// Idle past the timeout: refused.
		time.Sleep(10*time.Minute + time.Second)
		if rec := serveLegacy(h, sid, listBody); rec.Code != http.StatusNotFound {
			t.Errorf("tools/list after 10m1s idle: status %d, want 404", rec.Code)
		}

		// A session nobody uses again is swept.
		start()
		if n := s.sessions.len(); n != 1 {
			t.Fatalf("%d sessions, want 1", n)
		}
		time.Sleep(16 * time.Minute)
		synctest.Wait()
		if n := s.sessions.len(); n != 0 {
			t.Errorf("%d sessions after 16 idle minutes, want 0 (swept)", n)
		}
	})
}

func TestSessionStoreExpiresOnUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newSessionStore(time.Minute)
		o := ownerOf(alice)
		id := st.issue(binding{owner: o})
		if _, status := st.use(id, ownerOf(bob)); status != sessionForeign {
			t.Errorf("use by bob = %v, want sessionForeign", status)
		}
		time.Sleep(time.Minute - time.Second)
		if _, status := st.use(id, o); status != sessionOK {
			t.Errorf("use after 59s = %v, want sessionOK", status)
		}
		st.openStream(id)
		time.Sleep(5 * time.Minute)
		if _, status := st.use(id, o); status != sessionOK {
			t.Errorf("use with an open stream after 5m = %v, want sessionOK", status)
		}
		st.closeStream(id)
		time.Sleep(time.Minute + time.Second)
		if _, status := st.use(id, o); status != sessionExpired {
			t.Errorf("use 61s after the stream closed = %v, want sessionExpired", status)
		}
		if _, status := st.use(id, o); status != sessionUnknown {
			t.Errorf("use after expiry = %v, want sessionUnknown", status)
		}
	})
}

func TestCloseStopsSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Core: &fakeCore{}, Auth: fakeAuth{}, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		// synctest.Test fails if the sweeper goroutine outlives Close.
	})
}

func TestSessionStoreCapsSessionsPerPrincipal(t *testing.T) {
	st := newSessionStore(time.Minute)
	var last string
	for range maxSessionsPerPrincipal {
		last = st.issue(binding{owner: ownerOf(alice)})
	}
	if !st.full(ownerOf(alice)) {
		t.Errorf("alice not full after %d sessions", maxSessionsPerPrincipal)
	}
	if st.full(ownerOf(bob)) {
		t.Errorf("bob full with no sessions")
	}
	st.remove(last)
	if st.full(ownerOf(alice)) {
		t.Errorf("alice still full after ending a session")
	}
}
