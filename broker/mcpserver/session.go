package mcpserver

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/toolwarden/toolwarden/broker/auth"
)

// owner identifies who a session was issued to.
type owner struct {
	tenant, subject, keyID string
}

func ownerOf(p auth.Principal) owner {
	return owner{tenant: p.Tenant, subject: p.Subject, keyID: p.KeyID}
}

// binding is an issued Streamable HTTP session.
type binding struct {
	owner         owner
	protocol      string
	clientName    string
	clientVersion string
	lastSeen      time.Time
	streams       int // open GET streams; a session with one never idles out
}

// sessionStatus is the verdict on a presented session id.
type sessionStatus int

const (
	sessionOK      sessionStatus = iota
	sessionUnknown               // never issued, ended, or expired earlier
	sessionExpired               // idle too long: removed now
	sessionForeign               // issued to another principal
)

// maxSessionsPerPrincipal caps the live sessions of one principal, so that
// a client that never ends its sessions cannot grow the store without bound.
const maxSessionsPerPrincipal = 1000

// sessionStore holds the sessions this server issued.
type sessionStore struct {
	idle time.Duration

	mu      sync.Mutex // guards following
	m       map[string]*binding
	byOwner map[owner]int
}

func newSessionStore(idle time.Duration) *sessionStore {
	return &sessionStore{idle: idle, m: make(map[string]*binding), byOwner: make(map[owner]int)}
}

// issue records a new session and returns its id: 128 random bits.
func (st *sessionStore) issue(b binding) string {
	id := "tw-" + rand.Text()
	b.lastSeen = time.Now()
	st.mu.Lock()
	st.m[id] = &b
	st.byOwner[b.owner]++
	st.mu.Unlock()
	return id
}

// full reports whether o holds as many live sessions as allowed.
func (st *sessionStore) full(o owner) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byOwner[o] >= maxSessionsPerPrincipal
}

// deleteLocked removes a session.
func (st *sessionStore) deleteLocked(id string) {
	b, ok := st.m[id]
	if !ok {
		return
	}
	delete(st.m, id)
	if st.byOwner[b.owner]--; st.byOwner[b.owner] <= 0 {
		delete(st.byOwner, b.owner)
	}
}

// use checks that id was issued to o and is live, and marks it used. A
// session idle for longer than the timeout is removed and reported expired.
func (st *sessionStore) use(id string, o owner) (binding, sessionStatus) {
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.m[id]
	if !ok {
		return binding{}, sessionUnknown
	}
	if b.owner != o {
		// Checked before expiry, so another principal learns nothing about
		// the session's age and cannot end it.
		return binding{}, sessionForeign
	}
	if st.expiredLocked(b, now) {
		st.deleteLocked(id)
		return binding{}, sessionExpired
	}
	b.lastSeen = now
	return *b, sessionOK
}

func (st *sessionStore) expiredLocked(b *binding, now time.Time) bool {
	return b.streams == 0 && now.Sub(b.lastSeen) > st.idle
}

// has reports whether id is a live issued session.
func (st *sessionStore) has(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.m[id]
	return ok
}

// openStream and closeStream bracket a GET stream on a session.
func (st *sessionStore) openStream(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if b, ok := st.m[id]; ok {
		b.streams++
	}
}

func (st *sessionStore) closeStream(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if b, ok := st.m[id]; ok {
		b.streams--
		b.lastSeen = time.Now()
	}
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	st.deleteLocked(id)
	st.mu.Unlock()
}

// expire removes the sessions idle for longer than the timeout and returns
// their ids.
func (st *sessionStore) expire() []string {
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	var ids []string
	for id, b := range st.m {
		if st.expiredLocked(b, now) {
			st.deleteLocked(id)
			ids = append(ids, id)
		}
	}
	return ids
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// sweep ends idle sessions until Close.
func (s *Server) sweep() {
	defer s.wg.Done()
	interval := min(max(s.idle/2, time.Second), time.Minute)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			for _, id := range s.sessions.expire() {
				s.log.Info("mcpserver: session expired", "session", id)
				s.dropMCPSession(id)
			}
		}
	}
}

// dropMCPSession makes mcp-go forget a session this package has ended.
// mcp-go exports no per-session cleanup except its DELETE handling, so the
// session is ended through that, with a request that never touches the
// network.
func (s *Server) dropMCPSession(id string) {
	r, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, "/mcp", http.NoBody)
	if err != nil {
		s.log.Error("mcpserver: end session", "session", id, "err", err)
		return
	}
	r.Header.Set(server.HeaderKeySessionID, id)
	r.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	s.streamable.ServeHTTP(discardWriter{header: http.Header{}}, r)
}

// discardWriter is a ResponseWriter that drops everything.
type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header         { return w.header }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

// sessionResolver gives mcp-go a session id manager bound to the request,
// so that a session id is issued to the principal of the initialize request
// that caused it.
type sessionResolver struct{ s *Server }

func (r sessionResolver) ResolveSessionIdManager(req *http.Request) server.SessionIdManager {
	m := sessionManager{store: r.s.sessions}
	if req != nil {
		m.state = stateFrom(req.Context())
	}
	return m
}

// sessionManager implements mcp-go's SessionIdManager on the store.
type sessionManager struct {
	store *sessionStore
	state *reqState // nil outside an authenticated request
}

var errUnknownSession = errors.New("session not issued by this server")

// Generate issues a session to the request's principal. Outside an
// authenticated request it issues nothing.
func (m sessionManager) Generate() string {
	st := m.state
	if st == nil {
		return ""
	}
	b := binding{owner: ownerOf(st.principal)}
	if f := st.frame; f != nil && f.method == string(mcp.MethodInitialize) {
		b.protocol = mcp.NegotiateLegacyVersion(f.initProtocol)
		b.clientName, b.clientVersion = f.initClientName, f.initClientVersion
	}
	return m.store.issue(b)
}

// Validate accepts only live sessions this server issued. The HTTP front
// has already checked the owner.
func (m sessionManager) Validate(id string) (bool, error) {
	if !m.store.has(id) {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate ends a session (DELETE, Close, or expiry).
func (m sessionManager) Terminate(id string) (bool, error) {
	m.store.remove(id)
	return false, nil
}
