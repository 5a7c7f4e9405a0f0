package snowflaketest

import (
	"strings"
	"testing"
)

func TestLeaksFindsASecret(t *testing.T) {
	var l Leaks
	sf := New(Options{})
	defer sf.Close()
	l.Watch(sf)
	l.Secret("s3cr3t-client-secret")
	l.Record("clean output", "Logged in to x as ALICE")
	if texts, secrets, err := l.Check(); err != nil || texts != 1 || secrets == 0 {
		t.Fatalf("clean: %d texts, %d secrets, %v", texts, secrets, err)
	}
	l.Record("a log line", "refresh with s3cr3t-client-secret failed")
	if _, _, err := l.Check(); err == nil || !strings.Contains(err.Error(), "a log line") || strings.Contains(err.Error(), "s3cr3t-client-secret") {
		t.Fatalf("leak not reported by place (or the report repeats the secret): %v", err)
	}
}
