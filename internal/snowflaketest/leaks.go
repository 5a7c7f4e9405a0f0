package snowflaketest

import (
	"fmt"
	"strings"
	"sync"
)

// A test binary's whole output can be checked for secrets at the end: every
// stand-in registers here, tests Record what sfmcp wrote (outputs, logs,
// files), and CheckLeaks looks for every code, token, client secret and PAT
// any stand-in issued in all of it.
var leaks struct {
	mu      sync.Mutex
	servers []*Server
	texts   []recorded
}

type recorded struct{ where, text string }

func register(s *Server) {
	leaks.mu.Lock()
	defer leaks.mu.Unlock()
	leaks.servers = append(leaks.servers, s)
}

// Record keeps text (labelled where) for CheckLeaks.
func Record(where, text string) {
	if text == "" {
		return
	}
	leaks.mu.Lock()
	defer leaks.mu.Unlock()
	leaks.texts = append(leaks.texts, recorded{where, text})
}

// CheckLeaks reports every recorded text that contains a secret issued by
// any stand-in of this process, and how much it checked.
func CheckLeaks() (checkedTexts, checkedSecrets int, err error) {
	leaks.mu.Lock()
	servers, texts := leaks.servers, leaks.texts
	leaks.mu.Unlock()
	var secrets []string
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
