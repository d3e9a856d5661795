package verifier

import (
	"context"
	"sync"
	"testing"
	"time"

	"elicence/format"
	"elicence/verifier/verifiertest"
)

// TestListSignedWhileFetching: a verification starts at t0; obtaining the
// trust list and the status list takes 5 s (a slow issuer, a loaded
// machine, a large upload before them), and both were signed during that
// time, after t0 + skew. They are not dated ahead of the clock that
// obtained them, so the credential passes; a list dated ahead of that
// clock is still refused. (Seen in the web tests under load: a trust list
// republished while a document upload was verified came back
// TRY_LATER "ahead of this verifier's clock" with a 1 s skew.)
func TestListSignedWhileFetching(t *testing.T) {
	w := verifiertest.NewWorld(t)
	d := w.Depts[0]
	text := w.QR(t, d, w.Credential(d, "1", "L1", 3, t0.Add(-time.Hour)))
	run := func(signedAfter time.Duration) *Report {
		var mu sync.Mutex
		clock := t0
		advance := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = t0.Add(5 * time.Second)
			return clock
		}
		now := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return clock
		}
		at := t0.Add(signedAfter)
		trust := func(context.Context) (*Trust, error) {
			got := advance()
			return NewTrust(w.RootPublic(), w.SignTrust(t, 1, at, at.Add(time.Hour)), got)
		}
		status := func(ctx context.Context, tr *Trust, dept *format.Department, list string) (*Status, error) {
			advance()
			set := StatusSet{}
			if err := set.Add(tr, w.SignStatus(t, d, "L1", format.MinStatusListSize, at, 5*time.Minute, nil), now(), "file"); err != nil {
				return nil, err
			}
			return set.Func()(ctx, tr, dept, list)
		}
		return Verify(context.Background(), text, Config{Trust: trust, Status: status, Now: now, Skew: time.Second})
	}
	want(t, run(4*time.Second), Passed, "")
	r := run(7 * time.Second)
	want(t, r, Indeterminate, TryLater)
	if c := decidedBy(r); c != CheckTrustList {
		t.Fatalf("decided by %s, want trust_list (%+v)", c, r.Checks)
	}
}
