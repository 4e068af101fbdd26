package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Values of [Principal.Method].
const (
	MethodAPIKey = "apikey" // an API key from the keys file
	MethodJWT    = "jwt"    // a signed OIDC/JWT bearer token
	MethodCLI    = "cli"    // a trusted local operator (`toolwarden call`)
)

// maxBearerBytes bounds a presented credential; longer ones are refused
// before any parsing.
const maxBearerBytes = 16 << 10

// reloadInterval is how often, at most, a watched file is checked for a
// change.
const reloadInterval = time.Second

// Config configures an [Authenticator]. At least one of KeysFile and JWT
// must be set.
type Config struct {
	// KeysFile is the API keys file written by [AddKey]. Empty disables API
	// keys. A missing file holds no keys until it appears; changes are
	// picked up within about a second (mtime, size, inode and mode are
	// checked at most once a second).
	KeysFile string
	// JWT configures bearer tokens. Nil disables them.
	JWT *JWTConfig
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives reloads, skipped JWKS entries and failures to read
	// the keys file or the JWKS. Nil means slog.Default().
	Logger *slog.Logger
}

// Authenticator turns a bearer credential into a [Principal].
//
// # Notes
//
// An Authenticator is safe for concurrent use. It starts no goroutines and
// needs no Close.
type Authenticator struct {
	now  func() time.Time
	keys *watchedFile[*KeyStore] // nil: API keys disabled
	jwt  *jwtVerifier            // nil: tokens disabled
}

// New validates cfg and returns an Authenticator. It reads the keys file
// and the JWKS file (if configured) once, so a broken file is reported at
// start-up; a JWKS URL is first fetched when a token needs it.
func New(cfg Config) (*Authenticator, error) {
	if cfg.KeysFile == "" && cfg.JWT == nil {
		return nil, errors.New("auth: Config sets neither KeysFile nor JWT: no credential could be accepted")
	}
	a := &Authenticator{now: cfg.Now}
	if a.now == nil {
		a.now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	now := a.now()
	if cfg.KeysFile != "" {
		a.keys = newWatchedFile(filepath.Clean(cfg.KeysFile), "keys file", logger, LoadKeys,
			func() *KeyStore { return &KeyStore{byID: map[string]storedKey{}} })
		if _, err := a.keys.get(now); err != nil {
			return nil, fmt.Errorf("auth: Config.KeysFile: %w", err)
		}
	}
	if cfg.JWT != nil {
		v, err := newJWTVerifier(*cfg.JWT, logger)
		if err != nil {
			return nil, err
		}
		if f, ok := v.source.(*fileKeys); ok {
			if _, err := f.file.get(now); err != nil {
				return nil, fmt.Errorf("auth: JWTConfig.JWKSFile: %w", err)
			}
		}
		a.jwt = v
	}
	return a, nil
}

// Authenticate checks a bearer credential: a value starting with "tw_" is
// an API key, a three-part compact JWS is a JWT, anything else is refused.
// Every refusal is an [*Error]: [CodeMissing] for an empty value,
// [CodeInvalid], [CodeExpired], [CodeAudience], or [CodeUnavailable] when
// the keys file or the JWKS cannot be read.
//
// ctx bounds nothing but a JWKS fetch's wait; the fetch itself has its own
// timeout.
func (a *Authenticator) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if strings.TrimSpace(bearer) == "" {
		return Principal{}, fail(CodeMissing, errors.New("empty credential"))
	}
	if len(bearer) > maxBearerBytes {
		return Principal{}, fail(CodeInvalid, fmt.Errorf("credential of %d bytes, at most %d accepted", len(bearer), maxBearerBytes))
	}
	now := a.now()
	switch {
	case strings.HasPrefix(bearer, keyPrefix):
		if a.keys == nil {
			return Principal{}, fail(CodeInvalid, errors.New("api key presented but API keys are not configured"))
		}
		store, err := a.keys.get(now)
		if err != nil {
			return Principal{}, fail(CodeUnavailable, err)
		}
		return store.Authenticate(bearer, now)
	case isCompactJWS(bearer):
		if a.jwt == nil {
			return Principal{}, fail(CodeInvalid, errors.New("jwt presented but JWT is not configured"))
		}
		return a.jwt.verify(ctx, bearer, now)
	default:
		return Principal{}, fail(CodeInvalid, errors.New("credential is neither an API key nor a compact JWS"))
	}
}

// isCompactJWS reports whether s has the shape of a compact JWS: three
// non-empty base64url parts separated by dots.
func isCompactJWS(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for i, p := range parts {
		// An empty signature is the unsecured form ("alg": "none"): treat
		// it as a JWT so the refusal names the algorithm.
		if p == "" && i < 2 {
			return false
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// watchedFile caches what load made of a file and reloads it when the file
// changes (another inode, mtime, size or mode), checking at most once per
// reloadInterval of the caller's clock.
type watchedFile[T any] struct {
	path    string
	what    string // for logs: "keys file", "JWKS"
	logger  *slog.Logger
	load    func(path string) (T, error)
	missing func() T // what a missing file means; nil: an error

	mu      sync.Mutex // guards following
	loaded  bool
	checked time.Time
	info    fs.FileInfo // of the file last loaded; nil if missing or unreadable
	val     T
	err     error
}

func newWatchedFile[T any](path, what string, logger *slog.Logger, load func(string) (T, error), missing func() T) *watchedFile[T] {
	return &watchedFile[T]{path: path, what: what, logger: logger, load: load, missing: missing}
}

// get returns the current value, reloading it first if the file changed.
// While the file cannot be loaded, get returns the error: nothing is
// accepted on the strength of an older version (fail closed).
func (w *watchedFile[T]) get(now time.Time) (T, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loaded && !now.Before(w.checked) && now.Sub(w.checked) < reloadInterval {
		return w.val, w.err
	}
	w.checked = now
	prevErr := w.err
	fi, err := os.Stat(w.path)
	switch {
	case err == nil && w.loaded && w.err == nil && w.info != nil && sameVersion(w.info, fi):
		return w.val, nil
	case errors.Is(err, fs.ErrNotExist) && w.missing != nil:
		if w.loaded && w.err == nil && w.info == nil {
			return w.val, nil // still missing
		}
		w.val, w.err, w.info = w.missing(), nil, nil
		w.logger.Warn("auth: "+w.what+" missing: it accepts nothing until it is created", "path", w.path)
	case err != nil:
		var zero T
		w.val, w.err, w.info = zero, err, nil
	default:
		v, err := w.load(w.path)
		if err != nil {
			var zero T
			w.val, w.err, w.info = zero, err, nil
		} else {
			w.val, w.err, w.info = v, nil, fi
			w.logger.Info("auth: loaded "+w.what, "path", w.path)
		}
	}
	w.loaded = true
	if w.err != nil && (prevErr == nil || prevErr.Error() != w.err.Error()) {
		w.logger.Error("auth: cannot load "+w.what+": refusing its credentials until fixed", "path", w.path, "err", w.err)
	}
	return w.val, w.err
}

// sameVersion reports whether two stats show the same file, unchanged.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() && a.Mode() == b.Mode()
}
