package oauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Claims is what sfmcp shows of a JWT access token an identity provider
// issued: who, for whom, with which scopes, until when. It is decoded
// without verifying the signature, for display only; Snowflake verifies
// the token. Never the token itself.
type Claims struct {
	Issuer   string
	User     string // upn, preferred_username, email or sub, the first set
	Audience []string
	Scopes   []string // scp (a list or a string), else scope
	Expiry   time.Time
}

// maxJWT bounds what is decoded.
const maxJWT = 64 << 10

// AccessClaims decodes token's claims; ok is false when it is not a JWT.
func AccessClaims(token string) (Claims, bool) {
	parts := strings.Split(token, ".")
	if len(token) > maxJWT || len(parts) != 3 {
		return Claims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Claims{}, false
	}
	var c struct {
		Iss, Sub, Upn, Email string
		PreferredUsername    string `json:"preferred_username"`
		Aud, Scp             json.RawMessage
		Scope                string
		Exp                  float64
	}
	if json.Unmarshal(raw, &c) != nil {
		return Claims{}, false
	}
	out := Claims{Issuer: c.Iss, Audience: stringOrList(c.Aud), Scopes: stringOrList(c.Scp)}
	for _, u := range []string{c.Upn, c.PreferredUsername, c.Email, c.Sub} {
		if u != "" {
			out.User = u
			break
		}
	}
	if len(out.Scopes) == 0 && c.Scope != "" {
		out.Scopes = strings.Fields(c.Scope)
	}
	if c.Exp > 0 {
		out.Expiry = time.Unix(int64(c.Exp), 0)
	}
	return out, true
}

// stringOrList reads a claim that is a string (space-separated) or a
// list of strings.
func stringOrList(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return strings.Fields(s)
	}
	return nil
}
