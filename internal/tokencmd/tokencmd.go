// Package tokencmd is what runs on every MCP connection: `sfmcp-token
// headers` and `token`. It asks the daemon over its socket, starts one if
// none answers, and turns failures into one or two lines of advice and a
// documented exit code. It imports only the client, so the sfmcp-token
// binary that Claude Code runs starts in about the time of a minimal Go
// program; every other command lives in sfmcp-token-full.
package tokencmd

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/version"
)

// Env is what the hot path touches outside the process.
type Env struct {
	Getenv  func(string) string
	Environ func() []string // what an auto-started daemon inherits
	Stdout  io.Writer
	Stderr  io.Writer
	// DaemonExe is the binary that runs `daemon` when one must be started;
	// FindDaemonExe finds it only then (it costs a few system calls).
	DaemonExe     string
	FindDaemonExe func() (string, error)
}

// Main is the whole of sfmcp-token: headers, token and the version are
// answered here; every other command line, help and mistakes included, is
// handed to sfmcp-token-full, which has the command tree.
func Main(ctx context.Context, e Env, args []string) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		io.WriteString(e.Stdout, "sfmcp-token "+version.String()+"\n")
		return exitcode.OK
	}
	if len(args) > 0 && (args[0] == "headers" || args[0] == "token") {
		if o, ok := parseHot(args[1:]); ok {
			return Run(ctx, e, args[0], o)
		}
	}
	return ExecFull(args)
}

// Options are the flags of headers and token.
type Options struct {
	Profile string // --profile, else $SFMCP_PROFILE, else the daemon's choice
	Force   bool   // --force: a new access token even if the cached one is valid
}

// parseHot parses the flags of headers and token as sfmcp-token-full's
// command tree does. Anything else (help, a mistake) is not ok, and the
// full binary answers it with its usage.
func parseHot(args []string) (Options, bool) {
	var o Options
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if name == "-profile" || name == "-force" {
			name = "-" + name // as Go's flag package took them before
		}
		switch name {
		case "--profile":
			if !hasValue {
				if i+1 == len(args) {
					return o, false
				}
				i++
				value = args[i]
			}
			o.Profile = value
		case "--force":
			if hasValue {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return o, false
				}
				o.Force = b
				continue
			}
			o.Force = true
		default:
			return o, false
		}
	}
	return o, true
}

// Run runs `headers` or `token` and returns the exit code.
func Run(ctx context.Context, e Env, command string, o Options) int {
	err := Print(ctx, e, command, o)
	if err == nil {
		return exitcode.OK
	}
	code, hint := Advise(err, e.Getenv, profileOf(e, o))
	exitcode.Report(e.Stderr, err, hint)
	return code
}

// Print asks the daemon for the profile's token and prints it: headers as
// the JSON a headersHelper prints, token bare.
func Print(ctx context.Context, e Env, command string, o Options) error {
	req := client.Request{Profile: profileOf(e, o), ServerURL: e.Getenv("CLAUDE_CODE_MCP_SERVER_URL"), ServerName: e.Getenv("CLAUDE_CODE_MCP_SERVER_NAME"),
		Force: o.Force, NoSignIn: e.Getenv("SFMCP_NO_AUTO_LOGIN") == "1"}
	c, err := client.Connect(ctx, client.Options{Getenv: e.Getenv, Environ: e.Environ, DaemonExe: e.DaemonExe, FindDaemonExe: e.FindDaemonExe})
	if err != nil {
		return err
	}
	var out []byte
	if command == "token" {
		var tok apitype.TokenBody
		tok, err = c.Token(ctx, req)
		out = []byte(tok.AccessToken + "\n")
	} else {
		out, err = c.Headers(ctx, req)
	}
	if err != nil {
		return err
	}
	_, err = e.Stdout.Write(out)
	return err
}

func profileOf(e Env, o Options) string {
	if o.Profile != "" {
		return o.Profile
	}
	return e.Getenv("SFMCP_PROFILE")
}

// Advise is the exit code and next step of a failed headers or token: the
// code's advice (exitcode.ForCode), and the variables an auto-started
// daemon did not take from this environment when they may explain a
// missing profile or sign-in.
func Advise(err error, getenv func(string) string, profile string) (int, string) {
	code := client.CodeOf(err)
	exit, hint := exitcode.ForCode(code, profileOr(err, profile))
	if note := exitcode.DaemonEnvNote(getenv); note != "" && (exit == exitcode.Usage || exit == exitcode.LoginRequired) {
		hint += "\nsfmcp: " + note
	}
	return exit, hint
}

// profileOr is the profile the daemon resolved, when it answered, else
// profile.
func profileOr(err error, profile string) string {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Profile != "" {
		return ce.Profile
	}
	return profile
}
