package redteam

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// LureAddr is where the harness serves its lure: a loopback HTTP server a
// corpus grants a tool egress to ("http://127.0.0.1:18993"), so that
// cases can follow redirects from an allowed host to forbidden ones.
const LureAddr = "127.0.0.1:18993"

// lure is the harness's loopback HTTP server:
//
//	/ok                  200 "lure ok"
//	/redirect?to=URL     302 to URL
//	/loop                302 to /loop, for ever
//	/big                 200 with 8 MiB of body
type lure struct {
	srv *http.Server
}

// startLure serves the lure at addr; an error means the lure cases are
// skipped, loudly.
func startLure(addr string) (*lure, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redteam: serve the lure at %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "lure ok")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for range 128 {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
	})
	l := &lure{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return
		}
	}()
	return l, nil
}

func (l *lure) close() {
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
}
