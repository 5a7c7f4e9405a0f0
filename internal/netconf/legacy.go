package netconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
)

// LegacyError is a certificate failure of a sign-in made before sfmcp
// recorded network settings with it (keychain.Credential.NetworkRecorded
// false): the cure is a new sign-in, which Advice says how to make.
type LegacyError struct {
	Err    error
	Advice string
}

func (e *LegacyError) Error() string {
	return fmt.Sprintf("%v (this sign-in was made before sfmcp recorded ca_file and https_proxy with it; if you use either, %s)", e.Err, e.Advice)
}

func (e *LegacyError) Unwrap() error { return e.Err }

// Legacy wraps the transport of such a sign-in so its certificate failures
// come back as a LegacyError.
func Legacy(rt http.RoundTripper, advice string) http.RoundTripper {
	return legacy{rt: rt, advice: advice}
}

type legacy struct {
	rt     http.RoundTripper
	advice string
}

func (l legacy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if err != nil && (errors.As(err, &unknown) || errors.As(err, &verify)) {
		return resp, &LegacyError{Err: err, Advice: l.advice}
	}
	return resp, err
}
