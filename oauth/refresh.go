package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// maxTokenAnswer bounds a token endpoint's answer.
const maxTokenAnswer = 1 << 20

// refreshAt refreshes at an identity provider's token endpoint, sending
// the scopes (and the resource) again: Entra ID wants the scope on a
// refresh, and the MCP authorization spec the resource on every token
// request, neither of which x/oauth2's TokenSource sends. Errors have
// x/oauth2's shapes (*oauth2.RetrieveError), so tokenError reads them as
// it reads the others.
func (c *Client) refreshAt(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	if c.Resource != "" {
		form.Set("resource", c.Resource)
	}
	if !c.Confidential {
		form.Set("client_id", c.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.Confidential {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	hc, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &oauth2.RetrieveError{Response: resp, Body: body}
		var e struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil {
			re.ErrorCode, re.ErrorDescription = e.Error, e.ErrorDescription
		}
		return nil, re
	}
	return tokenOf(body, refreshToken)
}

// tokenOf reads a token answer; a refresh that issued no new refresh
// token keeps the one sent.
func tokenOf(body []byte, refreshToken string) (*oauth2.Token, error) {
	var t struct {
		AccessToken  string      `json:"access_token"`
		TokenType    string      `json:"token_type"`
		RefreshToken string      `json:"refresh_token"`
		ExpiresIn    json.Number `json:"expires_in"`
		Scope        string      `json:"scope"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return nil, fmt.Errorf("the answer carried no access_token")
	}
	expires, _ := t.ExpiresIn.Int64()
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	}
	tok := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, ExpiresIn: expires}
	return tok.WithExtra(map[string]any{"scope": t.Scope}), nil
}
