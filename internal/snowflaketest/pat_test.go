package snowflaketest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sql runs one statement through the stand-in's SQL API with token.
func sql(t *testing.T, s *Server, token, tokenType, stmt string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"statement": stmt})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v2/statements", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if tokenType != "" {
		req.Header.Set("X-Snowflake-Authorization-Token-Type", tokenType)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "test/1")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

func adminToken(t *testing.T, s *Server) string {
	st, body := postToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {codeFor(t, s)}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"code_verifier": {verifier}, "client_id": {"LOCAL_APPLICATION"}})
	if st != 200 {
		t.Fatal(body)
	}
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	return m["access_token"].(string)
}

func TestPATRules(t *testing.T) {
	s := New(Options{AutoApprove: DefaultUser})
	defer s.Close()
	admin := adminToken(t, s)
	must := func(stmt string) map[string]any {
		t.Helper()
		st, m := sql(t, s, admin, "", stmt)
		if st != 200 {
			t.Fatalf("%s: %d %v", stmt, st, m)
		}
		return m
	}
	code := func(stmt string) string {
		t.Helper()
		_, m := sql(t, s, admin, "", stmt)
		c, _ := m["code"].(string)
		return c
	}
	must("CREATE USER IF NOT EXISTS SVC TYPE = SERVICE DEFAULT_ROLE = R")
	if c := code("ALTER USER SVC ADD PAT T1 ROLE_RESTRICTION = 'R' DAYS_TO_EXPIRY = 5"); c != "390432" {
		t.Fatalf("service user without a network policy: code %s, want 390432", c)
	}
	must("CREATE OR REPLACE NETWORK RULE DB.NETWORKS.SVC_RULE MODE = INGRESS TYPE = IPV4 VALUE_LIST = ('10.0.0.1')")
	must("CREATE NETWORK POLICY IF NOT EXISTS SVC_POLICY ALLOWED_NETWORK_RULE_LIST = ('DB.NETWORKS.SVC_RULE')")
	must("ALTER USER SVC SET NETWORK_POLICY = 'SVC_POLICY'")
	if c := code("ALTER USER SVC ADD PAT T1 DAYS_TO_EXPIRY = 5"); c != "003164" {
		t.Fatalf("no ROLE_RESTRICTION for a service user: code %s", c)
	}
	if c := code("ALTER USER SVC ADD PAT T1 ROLE_RESTRICTION = 'R' DAYS_TO_EXPIRY = 5"); c != "003165" {
		t.Fatalf("role not granted: code %s", c)
	}
	must("GRANT ROLE R TO USER SVC")
	m := must("ALTER USER SVC ADD PROGRAMMATIC ACCESS TOKEN T1 ROLE_RESTRICTION = 'R' DAYS_TO_EXPIRY = 5")
	secret := m["data"].([]any)[0].([]any)[1].(string)
	if st, m := sql(t, s, secret, "PROGRAMMATIC_ACCESS_TOKEN", "SELECT CURRENT_USER()"); st != 200 || !strings.Contains(toJSON(m["data"]), "SVC") {
		t.Fatalf("the PAT does not authenticate: %d %v", st, m)
	}
	if _, m := sql(t, s, secret, "PROGRAMMATIC_ACCESS_TOKEN", "ALTER USER SVC ADD PAT T2 ROLE_RESTRICTION = 'R'"); m["code"] != "003001" {
		t.Fatalf("a PAT session managed PATs: %v", m)
	}
	// Rotation keeps the old secret for the given hours.
	m = must("ALTER USER SVC ROTATE PAT T1 EXPIRE_ROTATED_TOKEN_AFTER_HOURS = 24")
	newSecret := m["data"].([]any)[0].([]any)[1].(string)
	for _, tok := range []string{secret, newSecret} {
		if st, _ := sql(t, s, tok, "", "SELECT CURRENT_USER()"); st != 200 {
			t.Fatalf("after rotate with 24 h, a secret stopped working: %d", st)
		}
	}
	// Without its network policy a service user's PAT stops working.
	must("ALTER USER SVC UNSET NETWORK_POLICY")
	if st, m := sql(t, s, newSecret, "", "SELECT CURRENT_USER()"); st != 401 || m["code"] != "390432" {
		t.Fatalf("PAT without a network policy: %d %v", st, m)
	}
	// 15 tokens at most.
	must("ALTER USER SVC SET NETWORK_POLICY = 'SVC_POLICY'")
	for i := 0; i < 13; i++ {
		must("ALTER USER SVC ADD PAT X" + string(rune('A'+i)) + " ROLE_RESTRICTION = 'R'")
	}
	if c := code("ALTER USER SVC ADD PAT LAST ROLE_RESTRICTION = 'R'"); c != "003166" {
		t.Fatalf("16th token: code %s", c)
	}
	if c := code("DROP NETWORK POLICY SVC_POLICY"); c != "001538" {
		t.Fatalf("dropping an attached policy: code %s", c)
	}
	must("DROP USER IF EXISTS SVC")
	if st, _ := sql(t, s, newSecret, "", "SELECT CURRENT_USER()"); st != 401 {
		t.Fatal("a dropped user's PAT still works")
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
