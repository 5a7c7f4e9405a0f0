// Command sfmcp-token-full has every sfmcp-token command; sfmcp-token hands
// it everything but the hot path (headers, token). All behaviour lives in
// package cli.
package main

import (
	"context"
	"io"
	"os"

	"github.com/pkg/browser"

	"github.com/sfmcp/sfmcp/internal/cli"
)

func main() {
	// Whatever xdg-open or the browser prints must not reach stdout, which
	// scripts read (and the daemon's log). pkg/browser keeps its output
	// streams in package variables, so the process sets them once.
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	os.Exit(cli.Main(context.Background(), cli.OSEnv()))
}
