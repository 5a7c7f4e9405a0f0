package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/config"
	"github.com/sfmcp/sfmcp/daemon"
	"github.com/sfmcp/sfmcp/keychain"
)

func runDaemon(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "daemon")
	verbose := fs.Bool("debug", false, "log at debug level")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// The daemon's live heap is a few kilobytes of tokens, and its garbage
	// is per-request; collecting at 50% growth keeps RSS small under load
	// at little CPU cost (bench/RESULTS.md).
	debug.SetGCPercent(50)
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
	if err := daemon.Harden(); err != nil {
		log.Warn("could not make the daemon non-dumpable", "error", err.Error())
	}
	socket, err := daemon.SocketPath(e.Getenv)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	m, err := newManager(ctx, e, cfg, log)
	if err != nil {
		return err
	}
	srv := &daemon.Server{Manager: m, Log: log, Version: Version}
	err = srv.Serve(ctx, socket, func() { signalReady(e) })
	if errors.Is(err, daemon.ErrAlreadyRunning) {
		return withAdvice(err, ExitUsage, "check it with: sfmcp-token status")
	}
	if err != nil {
		return withAdvice(err, ExitUnavailable, "")
	}
	return nil
}

// newManager wires the daemon's token manager to the keychain, the config
// and Snowflake's token endpoint.
func newManager(ctx context.Context, e *Env, cfg *config.File, log *slog.Logger) (*daemon.Manager, error) {
	store, err := openStore(e, cfg)
	if err != nil {
		return nil, err
	}
	return daemon.NewManager(ctx, daemon.Options{
		Store:      store,
		LoadConfig: func() (*config.File, error) { return loadConfig(e) },
		NewRefresher: func(p config.Profile, cred keychain.Credential) (daemon.Refresher, error) {
			ep, err := p.Endpoint()
			if err != nil {
				return nil, usagef("", "profile %s: %v", p.Name, err)
			}
			hc := e.HTTPClient // tests
			if hc == nil {
				// The network the sign-in was made with; the environment's
				// proxy only for a daemon the user started (an auto-started
				// one has none in its allow-listed environment).
				if hc, err = signInHTTP(cred, true); errors.Is(err, errCAChanged) {
					return nil, fmt.Errorf("%w: %v", daemon.ErrLoginRequired, err)
				} else if err != nil {
					return nil, err
				}
				if !cred.NetworkRecorded {
					hc.Transport = legacyNetwork{rt: hc.Transport, advice: loginHint(p.Name)}
				}
			}
			return oauthClient(e, store, p, ep, hc)
		},
		Log:           log,
		ExpiryWarning: notifyExpiry(e),
	})
}

// signalReady tells the client that started this daemon that the socket
// accepts connections (see client.StartDaemon).
func signalReady(e *Env) {
	fd, err := strconv.Atoi(e.Getenv(client.ReadyFDEnv))
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "ready")
	_, _ = f.WriteString("ready\n")
	f.Close()
}
