package verifier

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"elicence/format"
	"elicence/verifier/verifiertest"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// env is a verifier with a Cache in front of an issuer double, on a fake
// clock.
type env struct {
	w     *verifiertest.World
	d     *verifiertest.Dept
	clock *verifiertest.Clock
	iss   *verifiertest.Issuer
	cache *Cache
	cfg   Config
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv starts an env; mods are func(*FetchConfig),
// func(*FetchConfig, *verifiertest.Issuer) and func(*verifiertest.Issuer),
// applied before the cache starts.
func newEnv(t *testing.T, mods ...any) *env {
	t.Helper()
	e := &env{w: verifiertest.NewWorld(t), clock: verifiertest.NewClock(t0)}
	e.d = e.w.Depts[0]
	e.iss = verifiertest.NewIssuer(t, e.w, e.clock.Now)
	fc := FetchConfig{
		Root: e.w.RootPublic(), Trust: e.iss.TrustURL(), Now: e.clock.Now, Logger: quiet(),
		Tick: time.Hour, MinBackoff: time.Second, MaxBackoff: time.Minute, Timeout: 5 * time.Second,
	}
	for _, m := range mods {
		switch m := m.(type) {
		case func(*FetchConfig):
			m(&fc)
		case func(*FetchConfig, *verifiertest.Issuer):
			m(&fc, e.iss)
		case func(*verifiertest.Issuer):
			m(e.iss)
		default:
			t.Fatalf("newEnv: unknown option %T", m)
		}
	}
	c, err := New(context.Background(), fc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e.cache = c
	e.cfg = Config{Trust: c.Trust, Status: c.Status, Now: e.clock.Now, MaxStaleness: time.Hour, Department: "RELY1"}
	return e
}

// qr returns the QR text of a new credential at index in list "L1".
func (e *env) qr(t testing.TB, index uint32) string {
	return e.w.QR(t, e.d, e.w.Credential(e.d, verifiertest.Serial(int(index)), "L1", index, e.clock.Now().Add(-time.Hour)))
}

// warm waits for the first trust list, which the cache fetches in the
// background as it starts, so that a test's own fetch is not joined to it.
func (e *env) warm(t *testing.T) {
	t.Helper()
	if _, err := e.cache.Trust(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) verify(text string) *Report {
	return Verify(context.Background(), text, e.cfg)
}

func want(t *testing.T, r *Report, ind Indication, sub SubIndication) {
	t.Helper()
	if r.Indication != ind || r.SubIndication != sub {
		t.Fatalf("got %s/%s (%s), want %s/%s", r.Indication, r.SubIndication, r.Reason, ind, sub)
	}
}

// eventually polls f until it is true or d has passed, and returns how long
// it took.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !f() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestCachePassedThenRevokedByTTLPolling(t *testing.T) {
	e := newEnv(t, func(i *verifiertest.Issuer) { i.MaxAge = i.TTL })
	text := e.qr(t, 7)
	r := e.verify(text)
	want(t, r, Passed, "")
	if r.Status.Source != "http" || r.Status.Value != "valid" || r.Status.TTLSeconds != 300 {
		t.Fatalf("status report %+v", r.Status)
	}
	if n := e.iss.StatusGets.Load(); n != 1 {
		t.Fatalf("%d status fetches, want 1", n)
	}

	e.iss.SetStatus(e.d, "L1", 7, format.StatusRevoked)
	// Within the list's refresh time the cache answers from memory.
	e.clock.Advance(3 * time.Minute)
	want(t, e.verify(text), Passed, "")
	if n := e.iss.StatusGets.Load(); n != 1 {
		t.Fatalf("%d status fetches before the refresh time, want 1", n)
	}
	// Past 80 % of the TTL (4 min) it refreshes in the background, and the
	// revocation shows.
	e.clock.Advance(2 * time.Minute)
	eventually(t, 5*time.Second, "revocation seen by polling", func() bool {
		return e.verify(text).SubIndication == Revoked
	})
	r = e.verify(text)
	want(t, r, Failed, Revoked)
	if r.Status.Source != "http" || r.Status.Value != "revoked" {
		t.Fatalf("status report %+v", r.Status)
	}
}

func TestCacheConditionalRequests(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 1)
	want(t, e.verify(text), Passed, "")
	before := e.iss.StatusGets.Load()
	// The double says max-age=60: refresh after 48 s, answered 304.
	e.clock.Advance(50 * time.Second)
	e.verify(text) // kicks the refresh
	eventually(t, 5*time.Second, "conditional refresh", func() bool { return e.iss.StatusNotModified.Load() >= 1 })
	if got := e.iss.StatusGets.Load(); got != before+1 {
		t.Fatalf("%d status fetches after the refresh, want %d", got, before+1)
	}
	r := e.verify(text)
	want(t, r, Passed, "")
	eventually(t, 5*time.Second, "fetched-at updated", func() bool {
		return e.verify(text).Status.FetchedAt.Equal(t0.Add(50 * time.Second))
	})
	if s := e.cache.Stats(); s.NotModified == 0 || s.Fetches < 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCacheSingleflight(t *testing.T) {
	e := newEnv(t)
	e.warm(t)
	text := e.qr(t, 3)
	release := e.iss.Hold()
	defer release()
	var wg sync.WaitGroup
	reports := make([]*Report, 100)
	for i := range reports {
		wg.Go(func() { reports[i] = e.verify(text) })
	}
	eventually(t, 5*time.Second, "first fetch arrives", func() bool { return e.iss.StatusGets.Load() >= 1 })
	// Give the other 99 every chance to fetch too if they were going to.
	time.Sleep(200 * time.Millisecond)
	release()
	wg.Wait()
	if n := e.iss.StatusGets.Load(); n != 1 {
		t.Fatalf("%d status fetches for 100 waiting requests, want 1", n)
	}
	for i, r := range reports {
		if r.Indication != Passed {
			t.Fatalf("request %d: %s/%s %s", i, r.Indication, r.SubIndication, r.Reason)
		}
	}
}

func TestCacheBackoff(t *testing.T) {
	e := newEnv(t)
	e.warm(t)
	text := e.qr(t, 3)
	e.iss.SetFailing(true)
	fetches := func() int64 { return e.iss.StatusGets.Load() }

	want(t, e.verify(text), Indeterminate, TryLater)
	if fetches() != 1 {
		t.Fatalf("%d fetches, want 1", fetches())
	}
	for range 20 {
		want(t, e.verify(text), Indeterminate, TryLater)
	}
	if fetches() != 1 {
		t.Fatalf("%d fetches during the backoff, want 1", fetches())
	}
	e.clock.Advance(time.Second) // first backoff: at most 1 s
	want(t, e.verify(text), Indeterminate, TryLater)
	if fetches() != 2 {
		t.Fatalf("%d fetches after the first backoff, want 2", fetches())
	}
	e.clock.Advance(time.Second) // second backoff: 1.5 s to 2 s
	want(t, e.verify(text), Indeterminate, TryLater)
	if fetches() != 2 {
		t.Fatalf("%d fetches 1 s into the second backoff, want 2", fetches())
	}
	e.clock.Advance(time.Second)
	e.iss.SetFailing(false)
	r := e.verify(text)
	want(t, r, Passed, "")
	if fetches() != 3 {
		t.Fatalf("%d fetches after the second backoff, want 3", fetches())
	}
}

func TestCacheStalenessNeverPassedNorRevoked(t *testing.T) {
	e := newEnv(t)
	e.cfg.MaxStaleness = 10 * time.Minute
	valid, revoked := e.qr(t, 1), e.qr(t, 2)
	e.iss.SetStatus(e.d, "L1", 2, format.StatusRevoked)
	want(t, e.verify(valid), Passed, "")
	want(t, e.verify(revoked), Failed, Revoked)

	e.iss.SetFailing(true) // the issuer is unreachable from now on
	e.clock.Advance(9 * time.Minute)
	want(t, e.verify(valid), Passed, "")
	want(t, e.verify(revoked), Failed, Revoked)
	e.clock.Advance(2 * time.Minute)
	for _, text := range []string{valid, revoked} {
		r := e.verify(text)
		want(t, r, Indeterminate, TryLater)
		if r.Status == nil || r.Status.AgeSeconds != 11*60 {
			t.Fatalf("status report %+v, want age 660 s", r.Status)
		}
	}
	// The issuer comes back and signs its list again, as it does before the
	// TTL ends: the fresh list is fetched in the background.
	e.clock.Advance(5 * time.Minute) // past any backoff
	e.iss.Resign(e.d, "L1")
	e.iss.SetFailing(false)
	// A fetch that failed while the clock was moved on backs off from the
	// new time; let the clock run as it would.
	eventually(t, 5*time.Second, "fresh list after the outage", func() bool {
		e.clock.Advance(100 * time.Millisecond)
		return e.verify(valid).Indication == Passed
	})
	want(t, e.verify(revoked), Failed, Revoked)
}

func TestCacheStaleTrustListTryLater(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 1)
	want(t, e.verify(text), Passed, "")
	e.iss.SetFailing(true)
	e.clock.Advance(25 * time.Hour) // past the trust list's next update
	r := e.verify(text)
	want(t, r, Indeterminate, TryLater)
	if !strings.Contains(r.Reason, "trust list") {
		t.Fatalf("reason %q", r.Reason)
	}
	if err := e.cache.Ready(context.Background()); err == nil {
		t.Fatal("ready with a stale trust list")
	}
}

func TestCacheRefusesLowerTrustSequence(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.warm(t)
	old := e.w.SignTrust(t, 1, t0, t0.Add(24*time.Hour))
	e.iss.PublishTrust(5, t0, t0.Add(24*time.Hour))
	// (A fetch the cache started in the background as it started may
	// still be answering with sequence 1.)
	eventually(t, 5*time.Second, "sequence 5 fetched", func() bool {
		tr, err := e.cache.refreshTrust(ctx)
		return err == nil && tr.List.Sequence == 5
	})
	e.iss.SetTrust(old)
	if _, err := e.cache.refreshTrust(ctx); err == nil || !strings.Contains(err.Error(), "lower") {
		t.Fatalf("lower sequence: err %v, want refused", err)
	}
	if tr, _ := e.cache.Trust(ctx); tr.List.Sequence != 5 {
		t.Fatalf("held sequence %d after a rollback attempt, want 5", tr.List.Sequence)
	}
	// A trust list signed by another root is refused as well.
	other := verifiertest.NewWorld(t)
	e.iss.SetTrust(other.SignTrust(t, 9, t0, t0.Add(24*time.Hour)))
	e.clock.Advance(time.Hour) // past the backoff
	if _, err := e.cache.refreshTrust(ctx); err == nil {
		t.Fatal("trust list of another root accepted")
	}
	if tr, _ := e.cache.Trust(ctx); tr.List.Sequence != 5 {
		t.Fatalf("held sequence %d, want 5", tr.List.Sequence)
	}
	if s := e.cache.Stats(); s.Refused < 2 || s.TrustSequence != 5 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCacheRefusesOlderStatusList(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 4)
	older := e.iss.StatusList(e.d, "L1") // signed at t0, entry 4 valid
	e.clock.Advance(time.Minute)
	e.iss.SetStatus(e.d, "L1", 4, format.StatusRevoked) // signed at t0+1m
	want(t, e.verify(text), Failed, Revoked)

	// A server (or CDN) now serves the older list: it must not un-revoke.
	e.iss.SetStatusRaw(e.d, "L1", older)
	k := statusKey{e.d.Code, "L1"}
	st, err := e.cache.refreshStatus(context.Background(), k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IssuedAt().Equal(t0.Add(time.Minute)) {
		t.Fatalf("held list issued %s, want the newer %s", st.IssuedAt(), t0.Add(time.Minute))
	}
	want(t, e.verify(text), Failed, Revoked)
	if e.cache.Stats().Refused == 0 {
		t.Fatal("older list not counted as refused")
	}
}

func TestCacheDropsListOfCompromisedKey(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 5) // credential signed at t0-1h
	want(t, e.verify(text), Passed, "")
	if len(e.cache.Stats().Lists) != 1 {
		t.Fatal("no list held")
	}

	// The key turns out compromised since t0-2h: the list held (signed at
	// t0) and the credential were both signed after that.
	e.d.SetKeyState(format.KeyCompromised, t0.Add(-2*time.Hour))
	e.w.NewKey(t, e.d)
	e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
	eventually(t, 5*time.Second, "sequence 2 fetched", func() bool {
		tr, err := e.cache.refreshTrust(context.Background())
		return err == nil && tr.List.Sequence == 2
	})
	for _, l := range e.cache.Stats().Lists {
		if l.List == "L1" && l.IssuedAt.Equal(t0) {
			t.Fatal("list signed by the compromised key still held")
		}
	}
	want(t, e.verify(text), Failed, KeyCompromised)

	// The issuer signs again with its new key; a new credential passes
	// once the cache has the new list (a background fetch may have got the
	// old one and be backing off: let the clock run).
	e.clock.Advance(time.Minute)
	e.iss.Resign(e.d, "L1")
	fresh := e.qr(t, 6)
	eventually(t, 5*time.Second, "list signed by the new key", func() bool {
		e.clock.Advance(500 * time.Millisecond)
		return e.verify(fresh).Indication == Passed
	})
}

func TestCacheStatusURLMissing(t *testing.T) {
	e := newEnv(t)
	e.warm(t)
	b := e.w.AddDept(t, "DEPTB", "乙部门", verifiertest.TypeB)
	e.iss.SetTrust(e.w.SignTrust(t, 2, t0, t0.Add(24*time.Hour)))
	eventually(t, 5*time.Second, "sequence 2 fetched", func() bool {
		tr, err := e.cache.refreshTrust(context.Background())
		return err == nil && tr.List.Sequence == 2
	})
	r := e.verify(e.w.QR(t, b, e.w.Credential(b, "1", "L1", 1, t0)))
	want(t, r, Indeterminate, TryLater)
	if !strings.Contains(r.Reason, "no status url") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestMaxAge(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want time.Duration
	}{
		{nil, -1},
		{[]string{"public, max-age=300"}, 300 * time.Second},
		{[]string{"max-age=\"5\""}, 5 * time.Second},
		{[]string{"public", "max-age=7"}, 7 * time.Second},
		{[]string{"no-cache, max-age=300"}, 0},
		{[]string{"no-store"}, 0},
		{[]string{"max-age=-1"}, -1},
		{[]string{"max-age=abc"}, -1},
		{[]string{"s-maxage=30"}, -1},
	} {
		if got := maxAge(c.in); got != c.want {
			t.Errorf("maxAge(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestNextRefreshAndBackoff(t *testing.T) {
	c := &Cache{cfg: FetchConfig{RefreshFraction: 0.8, MinRefresh: time.Second, MaxRefresh: 15 * time.Minute}}
	for _, x := range []struct {
		valid, maxAge, want time.Duration
	}{
		{300 * time.Second, -1, 240 * time.Second},              // signed TTL
		{300 * time.Second, 60 * time.Second, 48 * time.Second}, // max-age ends first
		{-time.Hour, 60 * time.Second, 48 * time.Second},        // expired list, server says 60 s
		{-time.Hour, -1, time.Second},                           // expired, nothing said: floor
		{10 * time.Hour, -1, 15 * time.Minute},                  // ceiling
		{300 * time.Second, 0, time.Second},                     // no-cache: floor
	} {
		if got := c.nextRefresh(t0, t0.Add(x.valid), x.maxAge).Sub(t0); got != x.want {
			t.Errorf("valid %s, max-age %s: refresh after %s, want %s", x.valid, x.maxAge, got, x.want)
		}
	}
	for n, bounds := range map[int][2]time.Duration{
		1: {750 * time.Millisecond, time.Second}, 2: {1500 * time.Millisecond, 2 * time.Second},
		3: {3 * time.Second, 4 * time.Second}, 30: {45 * time.Second, time.Minute},
	} {
		for range 50 {
			if d := backoff(n, time.Second, time.Minute); d < bounds[0] || d > bounds[1] {
				t.Fatalf("backoff(%d) = %s, want within %s", n, d, bounds)
			}
		}
	}
}

func TestCacheFetchTimeout(t *testing.T) {
	e := newEnv(t, func(fc *FetchConfig) { fc.Timeout = 200 * time.Millisecond })
	if _, err := e.cache.Trust(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := e.iss.Hold() // the issuer accepts the request and never answers
	defer release()
	start := time.Now()
	r := e.verify(e.qr(t, 1))
	want(t, r, Indeterminate, TryLater)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answered after %s, the fetch timeout is 200 ms", d)
	}
	if !strings.Contains(r.Reason, "deadline") {
		t.Fatalf("reason %q", r.Reason)
	}
}
