package snowflake

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseClientSecrets(t *testing.T) {
	row := func(s string) *Result { return &Result{Rows: [][]*string{{&s}}} }
	c, err := parseClientSecrets(row(`{"OAUTH_CLIENT_ID":"ABC","oauth_client_secret":"Zm9v+YmFy/YmF6==","OAUTH_CLIENT_SECRET_2":"x"}`))
	if err != nil || c.ID != "ABC" || c.Secret != "Zm9v+YmFy/YmF6==" {
		t.Fatalf("%v %v", c.ID, err)
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, "Zm9v") {
		t.Fatalf("the client secret was formatted: %s", s)
	}
	for _, bad := range []*Result{nil, {}, row(`not json`), row(`{"oauth_client_secret":"s"}`)} {
		if _, err := parseClientSecrets(bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}
