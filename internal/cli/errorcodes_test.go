package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/safesocket"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

// errorWithCode is the error a command meets when the outcome is code.
func errorWithCode(code string) error {
	switch code {
	case apitype.CodeSignInOpened:
		return &client.Error{Code: apitype.CodeLoginRequired, Message: "a new sign-in is required", SignInOpened: true}
	case apitype.CodeNoDaemon:
		return fmt.Errorf("%w (socket /run/x.sock): connection refused", client.ErrNoDaemon)
	case apitype.CodeDaemonBusy:
		return fmt.Errorf("%w (socket /run/x.sock)", client.ErrBusy)
	case apitype.CodeUnsafeSocket:
		return fmt.Errorf("%w: the process serving /run/x.sock runs as uid 0", safesocket.ErrUnsafe)
	case apitype.CodeDaemonFailed:
		return errors.New("read the sfmcp daemon's answer: EOF")
	}
	return &client.Error{Code: code, Message: "the daemon said " + code}
}

// Every code has one exit code and one next step, whichever binary meets
// it: sfmcp-token's headers and token (tokencmd.Advise) and every command
// of sfmcp-token-full (classify) advise through exitcode.ForCode.
func TestEveryCodeIsAdvisedAlikeByBothBinaries(t *testing.T) {
	documented := []int{exitcode.Error, exitcode.Usage, exitcode.LoginRequired, exitcode.Unavailable}
	for _, code := range apitype.Codes {
		err := errorWithCode(code)
		if got := client.CodeOf(err); got != code && code != apitype.CodeDaemonFailed {
			t.Errorf("%s: client.CodeOf = %q", code, got)
		}
		wantExit, wantHint := exitcode.ForCode(code, "prod")
		hotExit, hotHint := tokencmd.Advise(err, func(string) string { return "" }, "prod")
		fullExit, fullHint := classify(daemonError(err, client.Request{Profile: "prod"}))
		if hotExit != wantExit || fullExit != wantExit || hotHint != wantHint || fullHint != wantHint {
			t.Errorf("%s: sfmcp-token says %d %q, sfmcp-token-full %d %q; want %d %q", code, hotExit, hotHint, fullExit, fullHint, wantExit, wantHint)
		}
		if wantHint == "" || !slices.Contains(documented, wantExit) {
			t.Errorf("%s: exit %d with hint %q; want a documented failure and a next step", code, wantExit, wantHint)
		}
	}
}

// The same, end to end through a daemon's answer: `headers` run by either
// binary prints the same two lines and exits alike for each code the
// daemon sends.
func TestBothBinariesPrintTheSameAdviceForADaemonsAnswer(t *testing.T) {
	dir, err := os.MkdirTemp("", "sfmcp-codes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "d.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	answer := make(chan apitype.ErrorBody, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, _ := json.Marshal(<-answer)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(b)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	env := map[string]string{"HOME": dir, "SFMCP_SOCKET": socket, "SFMCP_NO_AUTOSTART": "1"}
	getenv := func(k string) string { return env[k] }
	args := []string{"headers", "--profile", "prod"}
	var bodies []apitype.ErrorBody
	for _, code := range apitype.Codes {
		if slices.Contains([]string{apitype.CodeNoDaemon, apitype.CodeDaemonBusy, apitype.CodeUnsafeSocket, apitype.CodeDaemonFailed}, code) {
			continue // no daemon says these; the test above walks them
		}
		b := apitype.ErrorBody{Error: code, Message: "the daemon said " + code, Profile: "prod"}
		if code == apitype.CodeSignInOpened {
			b.Error, b.SignInOpened = apitype.CodeLoginRequired, true
		}
		bodies = append(bodies, b)
	}
	for _, b := range bodies {
		var hotOut, hotErr, fullOut, fullErr bytes.Buffer
		answer <- b
		hot := tokencmd.Main(context.Background(), tokencmd.Env{Getenv: getenv, Stdout: &hotOut, Stderr: &hotErr}, args)
		answer <- b
		full := Main(context.Background(), Env{Getenv: getenv, Stdout: &fullOut, Stderr: &fullErr, Args: args})
		code := client.CodeOf(&client.Error{Code: b.Error, SignInOpened: b.SignInOpened})
		wantExit, wantHint := exitcode.ForCode(code, "prod")
		want := "sfmcp: " + b.Message + "\nsfmcp: " + wantHint + "\n"
		if hot != wantExit || full != wantExit || hotErr.String() != want || fullErr.String() != want {
			t.Errorf("%s: sfmcp-token exit %d, stderr %q; sfmcp-token-full exit %d, stderr %q; want %d, %q", code, hot, hotErr.String(), full, fullErr.String(), wantExit, want)
		}
		if hotOut.Len()+fullOut.Len() != 0 || strings.Contains(hotErr.String()+fullErr.String(), "Bearer") {
			t.Errorf("%s: printed a header on a failure", code)
		}
	}
}
