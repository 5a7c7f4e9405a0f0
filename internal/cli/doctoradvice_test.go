package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
)

// doctor's advice comes from typed fields and codes, never from the text
// of a message (issue #12): a message that merely mentions a code or a
// command changes nothing.
func TestDoctorAdviceFromTypes(t *testing.T) {
	typed := &client.Error{Code: apitype.CodeClientConfig, Message: "refresh failed", OAuthError: "invalid_client", SnowflakeCode: "390307",
		Advice: "the redirect URI does not match the integration's OAUTH_REDIRECT_URI"}
	if got := explainTokenError(typed); !strings.Contains(got, "Snowflake said invalid_client 390307: the redirect URI does not match") {
		t.Errorf("typed: %q", got)
	}
	text := &client.Error{Code: apitype.CodeClientConfig, Message: "invalid_client 390307 390432"}
	if got := explainTokenError(text); strings.Contains(got, "Snowflake said") {
		t.Errorf("classified by its text: %q", got)
	}

	unauthorized := fmt.Errorf("calling %q: %w", "initialize", &jsonrpc.Error{Code: mcpproxy.CodeUnauthorized, Message: "no token"})
	if got := mcpServerAdvice(unauthorized, "prod"); got != "sign in again: sfmcp-token login --profile prod" {
		t.Errorf("unauthorized: %q", got)
	}
	if got := mcpServerAdvice(errors.New("run: sfmcp-token login --profile prod"), "prod"); strings.Contains(got, "sign in again") {
		t.Errorf("classified by its text: %q", got)
	}
}
