package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoDeviceGrant: the authorization server offers no device
// authorization grant (no device_authorization_endpoint).
var ErrNoDeviceGrant = errors.New("the authorization server does not offer sign-in with a code (RFC 8628 device authorization)")

// DeviceCode is what the user needs to sign in on another device: where
// to go and the code to enter there (VerificationURIComplete carries the
// code already, when the server gives one). The device code itself, which
// the client polls with, is never part of it.
type DeviceCode struct {
	VerificationURI         string
	VerificationURIComplete string
	UserCode                string
	Expiry                  time.Time
}

// DeviceLogin signs in with the device authorization grant (RFC 8628): it
// asks for a code, shows it, and polls the token endpoint until the user
// has signed in elsewhere, declined, or the code expired.
func (c *Client) DeviceLogin(ctx context.Context, show func(DeviceCode)) (Tokens, error) {
	if c.DeviceAuthURL == "" {
		return Tokens{}, ErrNoDeviceGrant
	}
	cfg := c.config("")
	da, err := cfg.DeviceAuth(c.ctx(ctx), c.resource()...)
	if err != nil {
		return Tokens{}, redact(tokenError("ask for a sign-in code", err), c.ClientSecret)
	}
	show(DeviceCode{VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete, UserCode: da.UserCode, Expiry: da.Expiry})
	tok, err := cfg.DeviceAccessToken(c.ctx(ctx), da, c.resource()...)
	if err != nil {
		if ctx.Err() != nil {
			return Tokens{}, ctx.Err()
		}
		return Tokens{}, redact(fmt.Errorf("%w: %w", ErrAccessDenied, tokenError("sign in with a code", err)), da.DeviceCode, c.ClientSecret)
	}
	return c.tokens(tok), nil
}
