package snowflaketest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Leaks is the one secret-leak check of the test suites: it collects what
// sfmcp wrote (outputs, logs, files) and finds in it every code, token,
// client secret and PAT that the stand-ins it watches issued, plus any
// secret a test adds. The e2e suite keeps one for the whole test binary;
// package tests keep one per test.
type Leaks struct {
	mu      sync.Mutex
	servers []*Server
	secrets []string
	texts   []recorded
}

type recorded struct{ where, text string }

// Watch adds every secret s issues, now or later.
func (l *Leaks) Watch(s *Server) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.servers = append(l.servers, s)
}

// Secret adds a secret no stand-in issued (a client secret a test chose).
func (l *Leaks) Secret(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, s)
}

// Record keeps text (labelled where) to be checked.
func (l *Leaks) Record(where, text string) {
	if text == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.texts = append(l.texts, recorded{where, text})
}

// Check reports every recorded text that contains a secret, and how much
// it checked.
func (l *Leaks) Check() (checkedTexts, checkedSecrets int, err error) {
	l.mu.Lock()
	servers, texts, secrets := l.servers, l.texts, append([]string(nil), l.secrets...)
	l.mu.Unlock()
	for _, s := range servers {
		secrets = append(secrets, s.IssuedSecrets()...)
	}
	var found []string
	for _, r := range texts {
		for _, sec := range secrets {
			if strings.Contains(r.text, sec) {
				found = append(found, fmt.Sprintf("%s contains a secret (%.8s…)", r.where, sec))
				break
			}
		}
	}
	if len(found) > 0 {
		return len(texts), len(secrets), fmt.Errorf("secrets leaked:\n  %s", strings.Join(found, "\n  "))
	}
	return len(texts), len(secrets), nil
}

// Assert fails t if any recorded text holds a secret.
func (l *Leaks) Assert(t testing.TB) {
	t.Helper()
	if _, _, err := l.Check(); err != nil {
		t.Error(err)
	}
}
