package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/errcode"
	"github.com/sfmcp/sfmcp/internal/proctree"
	"github.com/sfmcp/sfmcp/internal/safesocket"
	"github.com/sfmcp/sfmcp/oauth"
)

// Server serves a Manager on a socket.
type Server struct {
	Manager *Manager
	Log     *slog.Logger
	Version string
	// MaxConns caps open connections (default 1024); see connLimit.
	MaxConns int
	started  time.Time
	socket   string
	conns    *connLimit
}

const (
	// maxSignInWait bounds how long a request waits for a browser sign-in.
	maxSignInWait  = 120
	maxQuery       = 4 << 10
	maxHeaderBytes = 8 << 10 // request line and headers together
)

// Handler returns the daemon's HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/headers", s.handleHeaders)
	mux.HandleFunc("GET /v1/token", s.handleToken)
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("POST /v1/reload", s.handleReload)
	mux.HandleFunc("GET /v1/health", s.handleHealth)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > maxQuery {
			writeError(w, http.StatusRequestURITooLong, apitype.ErrorBody{Error: apitype.CodeBadRequest, Message: "query too long"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Serve takes the single-instance lock at lockPath, listens on socketPath
// and serves until ctx ends, then stops accepting, lets in-flight requests
// finish and removes the socket. ready, if not nil, is called once the
// socket accepts connections.
func (s *Server) Serve(ctx context.Context, socketPath, lockPath string, ready func()) error {
	ln, release, err := listen(socketPath, lockPath)
	if err != nil {
		return err
	}
	defer release()
	s.started = time.Now()
	s.socket = socketPath
	if s.MaxConns <= 0 {
		s.MaxConns = 1024
	}
	s.conns = newConnLimit(s.MaxConns)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 2 * time.Second, // a client that never finishes its request is dropped
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      45 * time.Second, // longer than a refresh may take
		// sfmcp's own clients close after one request; idle connections
		// are someone else's and only hold a descriptor.
		IdleTimeout: 5 * time.Second,
		// net/http reads up to MaxHeaderBytes plus 4 KiB of slack, so this
		// caps the request line and headers at 8 KiB together.
		MaxHeaderBytes: maxHeaderBytes - 4<<10,
		ConnContext:    connContext,
		ConnState:      s.conns.track,
		ErrorLog:       slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	pl := &peerListener{Listener: ln, uid: safesocket.OwnUID(), log: s.Log, limit: s.conns}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(pl) }()
	s.Log.Info("daemon listening", "socket", socketPath, "pid", os.Getpid(), "version", s.Version)
	if ready != nil {
		ready()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Log.Info("daemon stopping")
	s.conns.close()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	s.Manager.Close()
	return err
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, helper bool) (Token, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// Never fall back to the default profile on a query we cannot read.
		writeError(w, http.StatusBadRequest, apitype.ErrorBody{Error: apitype.CodeBadRequest, Message: "malformed query: " + err.Error()})
		return Token{}, false
	}
	force := q.Get("force") == "1" || q.Get("force") == "true"
	req := Request{Profile: q.Get("profile"), ServerURL: q.Get("server_url"), Force: force, Refused: q.Get("refused")}
	peer, _ := PeerFrom(r.Context())
	if helper && req.ServerURL != "" {
		req.Client = helperClient(peer.PID, req.ServerURL, q.Get("server_name"))
	}
	req.NoSignIn = q.Get("signin") == "off"
	req.OverSSH = func() bool { return proctree.InSSHSession(peer.PID) }
	if secs, err := strconv.Atoi(q.Get("wait_signin")); err == nil && secs > 0 {
		req.WaitSignIn = time.Duration(min(secs, maxSignInWait)) * time.Second
		// Past the server's write timeout, which bounds other requests.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(req.WaitSignIn + 45*time.Second))
	}
	t, err := s.Manager.Token(r.Context(), req)
	if err != nil {
		status, body := errorFor(err)
		body.Profile = t.Profile
		writeError(w, status, body)
		return Token{}, false
	}
	s.Log.Info("token handed out", "profile", t.Profile, "peer_pid", peer.PID, "peer_uid", peer.UID, "peer_exe", peer.Exe, "forced", force || q.Get("refused") != "")
	return t, true
}

// helperClient names the MCP client a headersHelper run belongs to: the
// first process above the helper that is not a shell (clients run helpers
// through a fresh `sh -c` each time, and the helper may be inside the
// user's own scripts, which run as fresh shells too), with its start time
// so a recycled pid is another client, and the server entry the helper is
// for.
func helperClient(pid int, serverURL, serverName string) string {
	p, ok := proctree.FirstAbove(pid, proctree.IsShell, 8)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d/%d %q %s", p.PID, p.Start, serverName, serverURL)
}

// handleHeaders answers exactly the JSON object a headersHelper prints.
func (s *Server) handleHeaders(w http.ResponseWriter, r *http.Request) {
	t, ok := s.token(w, r, true)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(t.Headers)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(t.Headers)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	t, ok := s.token(w, r, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, apitype.TokenBody{Profile: t.Profile, AccessToken: t.AccessToken, TokenType: t.TokenType, ExpiresAt: t.ExpiresAt.UTC(),
		CAFile: t.CAFile, CAFileSHA256: t.CAFileSHA256, HTTPSProxy: t.HTTPSProxy, NetworkRecorded: t.NetworkRecorded})
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Manager.Reload(r.URL.Query().Get("profile")); err != nil {
		writeError(w, http.StatusInternalServerError, apitype.ErrorBody{Error: apitype.CodeInternal, Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"reloaded": true})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apitype.Health{OK: true, PID: os.Getpid(), Version: s.Version})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := apitype.Status{PID: os.Getpid(), Version: s.Version, Socket: s.socket, Started: s.started.UTC(),
		Uptime: time.Since(s.started).Round(time.Second).String(), Goroutines: runtime.NumGoroutine(), Profiles: s.Manager.Status()}
	writeJSON(w, http.StatusOK, st)
}

// errorFor maps an error to an HTTP status and a JSON body for clients:
// its code (errcode.Of), and what Snowflake's token endpoint said.
func errorFor(err error) (int, apitype.ErrorBody) {
	code := errcode.Of(err)
	b := apitype.ErrorBody{Error: code, Message: err.Error()}
	if code == apitype.CodeSignInOpened {
		// On the wire it is login_required with the flag, as clients of
		// every version read it.
		b.Error, b.SignInOpened = apitype.CodeLoginRequired, true
	}
	var te *oauth.TokenError
	if errors.As(err, &te) {
		b.OAuthError, b.SnowflakeCode, b.Advice = te.Code, te.SnowflakeCode, te.Advice()
	}
	status, ok := statusFor[b.Error]
	if !ok {
		b.Error, status = apitype.CodeInternal, http.StatusInternalServerError
	}
	return status, b
}

// statusFor is the HTTP status of each code the daemon sends.
var statusFor = map[string]int{
	apitype.CodeLoginRequired:       http.StatusUnauthorized,
	apitype.CodeHostMismatch:        http.StatusForbidden,
	apitype.CodeHostNotAllowed:      http.StatusForbidden,
	apitype.CodeUnknownProfile:      http.StatusNotFound,
	apitype.CodeKeychainUnavailable: http.StatusServiceUnavailable,
	apitype.CodeClientConfig:        http.StatusConflict,
	apitype.CodeUnavailable:         http.StatusServiceUnavailable,
	apitype.CodeBadRequest:          http.StatusBadRequest,
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"internal","message":"encode"}`)
	}
	data = append(data, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeError(w http.ResponseWriter, status int, b apitype.ErrorBody) {
	writeJSON(w, status, b)
}
