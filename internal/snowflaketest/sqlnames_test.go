package snowflaketest

import (
	"strings"
	"testing"
)

// The stand-in reads names as Snowflake does (quoted parts keep case, dots
// and quotes) and, like the SQL API, refuses a request with more than one
// statement.
func TestSQLQuotedNamesAndOneStatement(t *testing.T) {
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
	user := `"x' ; DROP DATABASE PROD; --"`
	must(`CREATE USER IF NOT EXISTS ` + user + ` TYPE = SERVICE DEFAULT_ROLE = R COMMENT = 'it''s \\ fine'`)
	must(`GRANT ROLE R TO USER ` + user)
	must(`CREATE OR REPLACE NETWORK RULE "my.db".NETWORKS."r""1" MODE = INGRESS TYPE = IPV4 VALUE_LIST = ('10.0.0.1')`)
	must(`CREATE NETWORK POLICY IF NOT EXISTS "p;1" ALLOWED_NETWORK_RULE_LIST = ('"my.db".NETWORKS."r""1"')`)
	must(`ALTER USER ` + user + ` SET NETWORK_POLICY = '"p;1"'`)
	m := must(`ALTER USER ` + user + ` ADD PROGRAMMATIC ACCESS TOKEN "t 1" ROLE_RESTRICTION = 'R' COMMENT = 'a''b'`)
	if !strings.Contains(toJSON(m["data"]), "t 1") {
		t.Fatalf("PAT name: %v", m["data"])
	}
	must(`ALTER USER IF EXISTS ` + user + ` REMOVE PROGRAMMATIC ACCESS TOKEN IF EXISTS "t 1"`)
	must(`DROP USER IF EXISTS ` + user)

	before := len(s.Statements())
	st, m := sql(t, s, admin, "", "GRANT ROLE R TO USER A; DROP DATABASE PROD")
	if st != 422 || m["code"] != "000008" {
		t.Fatalf("two statements in one request: %d %v", st, m)
	}
	if st, m := sql(t, s, admin, "", "GRANT ROLE R TO USER 'open"); st != 422 {
		t.Fatalf("an unterminated string: %d %v", st, m)
	}
	if got := s.Statements()[before:]; len(got) != 2 {
		t.Fatalf("refused requests are still recorded for tests: %q", got)
	}
}
