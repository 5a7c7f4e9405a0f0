package snowflake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// IntegrationClient is what SYSTEM$SHOW_OAUTH_CLIENT_SECRETS says about a
// security integration. Secret is set for a confidential client only.
type IntegrationClient struct {
	ID     string
	Secret string
}

// String hides the secret.
func (c IntegrationClient) String() string { return "client id " + c.ID }

// GoString hides the secret from %#v too.
func (c IntegrationClient) GoString() string { return c.String() }

// Apply runs stmts (s.Statements) through api in order, calling done after
// each, then reads the integration's client id (and secret) back. An
// External OAuth integration has no client at Snowflake (the identity
// provider registers it): Apply reads the binding back instead and fails
// with ErrBindingNotEffective unless the MCP server is bound to it.
func (s Setup) Apply(ctx context.Context, api *Client, stmts []Statement, done func(Statement)) (IntegrationClient, error) {
	for i, st := range stmts {
		if _, err := api.Exec(ctx, st.SQL); err != nil {
			return IntegrationClient{}, fmt.Errorf("statement %d of %d (%s) failed: %w", i+1, len(stmts), st.What, err)
		}
		if done != nil {
			done(st)
		}
	}
	if s.External != nil {
		return IntegrationClient{}, s.checkBinding(ctx, api)
	}
	res, err := api.Exec(ctx, s.ShowSecretsSQL())
	if err != nil {
		return IntegrationClient{}, fmt.Errorf("read the integration's client id: %w", err)
	}
	return parseClientSecrets(res)
}

// parseClientSecrets reads the one JSON object SYSTEM$SHOW_OAUTH_CLIENT_SECRETS
// returns; its keys are matched without regard to case.
func parseClientSecrets(res *Result) (IntegrationClient, error) {
	var secrets map[string]string
	if res == nil || len(res.Rows) == 0 || len(res.Rows[0]) == 0 || res.Rows[0][0] == nil || json.Unmarshal([]byte(*res.Rows[0][0]), &secrets) != nil {
		return IntegrationClient{}, errors.New("SYSTEM$SHOW_OAUTH_CLIENT_SECRETS returned no JSON object")
	}
	get := func(key string) string {
		for k, v := range secrets {
			if strings.EqualFold(k, key) {
				return v
			}
		}
		return ""
	}
	c := IntegrationClient{ID: get("oauth_client_id"), Secret: get("oauth_client_secret")}
	if c.ID == "" {
		return IntegrationClient{}, errors.New("SYSTEM$SHOW_OAUTH_CLIENT_SECRETS returned no client id")
	}
	return c, nil
}
