package mcpbridge

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
)

// BindingAdvice is the bridge's Options.Refused for p's tokens to the MCP
// server at serverURL: after the server refused a renewed token, its
// metadata (the one its 401 names, read over via without a token) says
// whether it takes its tokens from another authorization server now, and
// the sentence says so and how to set the profile up again; "" when it
// does not, or cannot be read.
func BindingAdvice(p config.Profile, serverURL string) func(ctx context.Context, wwwAuthenticate []string, via http.RoundTripper) string {
	return func(ctx context.Context, wwwAuthenticate []string, via http.RoundTripper) string {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var moved *idp.BindingChangedError
		if !errors.As(idp.CheckBinding(ctx, &http.Client{Transport: via}, p, serverURL, wwwAuthenticate), &moved) {
			return ""
		}
		return "Snowflake refused profile " + p.Name + "'s token: " + moved.Error() + "; " + moved.Hint()
	}
}
