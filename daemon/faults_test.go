package daemon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/snowflaketest"
	"github.com/sfmcp/sfmcp/keychain"
	"github.com/sfmcp/sfmcp/oauth"
)

// TestLogoutDuringRefresh: a sign-in removed (logout → reload) while a
// refresh is at Snowflake is not resurrected by that refresh, even when
// Snowflake rotates the refresh token.
func TestLogoutDuringRefresh(t *testing.T) {
	f := newFixture(t, func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true }, nil)
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.sf.OnTokenRequest(func(string) {
		once.Do(func() { close(arrived); <-release })
	})
	result := make(chan error, 1)
	go func() {
		_, err := f.m.Token(context.Background(), Request{Profile: "prod"})
		result <- err
	}()
	<-arrived
	// logout: the credential goes, the daemon is told.
	f.store.mu.Lock()
	delete(f.store.creds, "prod")
	f.store.mu.Unlock()
	f.m.Reload("prod")
	close(release)
	if err := <-result; !errors.Is(err, ErrReloaded) {
		t.Fatalf("the straddling refresh returned %v, want ErrReloaded", err)
	}
	if _, err := f.store.Credential("prod"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatal("the refresh wrote the sign-in back after logout")
	}
	if _, err := f.m.Token(context.Background(), Request{Profile: "prod"}); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("after logout: %v, want login required", err)
	}
}

// TestSingleUseFanIn: 1,000 callers at expiry with single-use refresh
// tokens cause one rotation, and the token family stays valid.
func TestSingleUseFanIn(t *testing.T) {
	f := newFixture(t, func(in *snowflaketest.Integration) { in.SingleUseRefreshTokens = true }, func(o *Options) { o.Now = time.Now })
	socket, _ := f.serve()
	f.sf.InjectTokenFaults(snowflaketest.Fault{Delay: 300 * time.Millisecond})
	c := unixClient(socket)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := c.Get("http://sfmcp/v1/token?profile=prod")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	close(start)
	wg.Wait()
	cnt := f.sf.Counters()
	if cnt.RefreshRotations != 1 || cnt.FamiliesRevoked != 0 {
		t.Fatalf("rotations %d, families revoked %d; want 1 and 0", cnt.RefreshRotations, cnt.FamiliesRevoked)
	}
	// The saved (rotated) token still works.
	var tb apitype.TokenBody
	getJSON(t, c, "/v1/token?profile=prod&force=1", &tb)
	f.m.mu.Lock()
	f.m.entries["prod"].obtained = time.Time{} // let the forced refresh through
	f.m.mu.Unlock()
	if code := getJSON(t, c, "/v1/token?profile=prod&force=1", &tb); code != 200 || f.sf.Counters().FamiliesRevoked != 0 {
		t.Fatalf("refresh with the saved token: %d", code)
	}
}

// TestClockSkew: the machine's clock and Snowflake's differ by ±10 minutes;
// refresh timing follows expires_in, not either clock's timestamps.
func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice", Now: func() time.Time { return time.Now().Add(skew) }})
			defer sf.Close()
			f := newFixtureOn(t, sf, nil)
			first := f.token()
			f.waitRefresh()
			f.clock.Advance(479 * time.Second)
			if tok := f.token(); tok.AccessToken != first.AccessToken || f.refreshes() != 1 {
				t.Fatal("refreshed early")
			}
			f.clock.Advance(2 * time.Second)
			f.token()
			if err := f.waitRefresh(); err != nil {
				t.Fatal(err)
			}
			tok := f.token()
			if tok.AccessToken == first.AccessToken {
				t.Fatal("not refreshed at 481 s")
			}
			// And the new token is valid at the skewed server.
			if !accepted(t, sf, tok.AccessToken) {
				t.Fatal("the refreshed token is refused by the skewed server")
			}
		})
	}
}

// TestSlowSnowflakeServesCache: a refresh that takes 2 s does not hold up
// callers while the cached token is valid.
func TestSlowSnowflakeServesCache(t *testing.T) {
	f := newFixture(t, nil, nil)
	first := f.token()
	f.waitRefresh()
	arrived := make(chan struct{}, 1)
	f.sf.OnTokenRequest(func(string) {
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	f.sf.InjectTokenFaults(snowflaketest.Fault{Delay: 2 * time.Second})
	f.clock.Advance(481 * time.Second)
	f.token() // kicks the slow refresh
	<-arrived
	// While Snowflake is still thinking, callers get the cached token.
	for range 10 {
		if tok := f.token(); tok.AccessToken != first.AccessToken {
			t.Fatal("a caller waited for the slow refresh")
		}
	}
	select {
	case err := <-f.refreshd:
		t.Fatalf("the 2 s refresh finished while callers were served: %v", err)
	default:
	}
	if err := f.waitRefresh(); err != nil {
		t.Fatal(err)
	}
}

func accepted(t *testing.T, sf *snowflaketest.Server, token string) bool {
	req, _ := newMCPRequest(sf, token)
	resp, err := sf.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}
