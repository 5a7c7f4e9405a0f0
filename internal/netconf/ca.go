package netconf

import (
	"crypto/sha256"
	"encoding/hex"
	encpem "encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// ErrCAChanged: the ca_file holds other certificates than at sign-in; only
// a new sign-in trusts them.
var ErrCAChanged = errors.New("ca_file holds other certificates than when this profile signed in")

// maxCAFile bounds a CA bundle (a system bundle is about 200 KiB).
const maxCAFile = 8 << 20

// CADigest identifies the set of certificates in a PEM bundle, whatever
// their order and whatever comments surround them.
func CADigest(pem []byte) string {
	var sums []string
	for rest := pem; ; {
		var block *encpem.Block
		block, rest = encpem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			s := sha256.Sum256(block.Bytes)
			sums = append(sums, hex.EncodeToString(s[:]))
		}
	}
	sort.Strings(sums)
	all := sha256.Sum256([]byte(strings.Join(sums, "\n")))
	return hex.EncodeToString(all[:])
}

// CAKey names the certificates n's ca_file holds now ("" without one,
// "unreadable" when it cannot be read), so a client built from it can be
// rebuilt when they change; the rebuilt client's check (Client) then asks
// for a new sign-in.
func (n Network) CAKey() string {
	if n.CAFile == "" {
		return ""
	}
	pem, err := readCAFile(n.CAFile, "")
	if err != nil {
		return "unreadable"
	}
	return CADigest(pem)
}

// readCAFile reads a CA bundle, which must be an absolute path (a relative
// one would resolve in a project's directory) and, when sum is given, still
// hold what it held at sign-in.
func readCAFile(path, sum string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, &SettingError{Setting: "ca_file", Err: fmt.Errorf("ca_file %q must be an absolute path", path)}
	}
	pem, err := atomicfile.ReadFile(path, maxCAFile, true)
	if err != nil {
		return nil, &SettingError{Setting: "ca_file", Err: fmt.Errorf("ca_file: %w", err)}
	}
	if sum != "" && CADigest(pem) != sum {
		return nil, &SettingError{Setting: "ca_file", Err: fmt.Errorf("%w (%s); sign in again to trust the new ones", ErrCAChanged, path)}
	}
	return pem, nil
}
