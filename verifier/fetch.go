package verifier

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"elicence/format"
)

// FetchConfig configures a [Cache]: the pinned root, where the trust list,
// status lists and revocation events come from, and how often to look.
// Zero durations take the defaults named in each field.
type FetchConfig struct {
	// Root is the pinned root public key; trust lists are verified under it
	// and under nothing fetched at run time.
	Root *ecdsa.PublicKey
	// Trust is where the signed trust list is: an http or https URL, or a
	// file path (offline mode).
	Trust string
	// StatusDir, when set, is a directory of signed status list files read
	// instead of the departments' StatusURLs (offline mode, see bundle.go).
	StatusDir string
	// Events are URLs of revocation event streams (Server-Sent Events) to
	// subscribe to. Empty: no stream, status lists are polled only.
	Events []string
	// Client makes every HTTP request; a client without Timeout is needed
	// for the event stream. Nil: a client with sensible transport limits.
	Client *http.Client
	// Now is the clock that judges freshness; time.Now when nil.
	Now func() time.Time
	// Logger receives fetch failures and stream state; slog.Default when nil.
	Logger *slog.Logger
	// Timeout bounds one fetch of a trust or status list; default 10 s.
	Timeout time.Duration
	// RefreshFraction is the share of an object's lifetime (its signed
	// validity or HTTP max-age, whichever ends first) after which it is
	// refreshed in the background; default 0.8.
	RefreshFraction float64
	// MinRefresh and MaxRefresh bound the interval between two refreshes of
	// one object; defaults 1 s and 15 min. MaxRefresh also bounds how long a
	// new trust list (a key marked compromised) may go unnoticed.
	MinRefresh, MaxRefresh time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed fetch or a
	// dropped stream, doubling from one to the other; defaults 1 s and 5 min
	// (30 s for the stream).
	MinBackoff, MaxBackoff time.Duration
	// Tick is how often the background loop looks for due refreshes and
	// changed files; default 1 s.
	Tick time.Duration
	// StreamIdle is how long a stream may stay silent (the issuer pings every
	// 15 s) before it is dropped and reconnected; default 45 s.
	StreamIdle time.Duration
	// Skew is the clock-skew tolerance: a trust list or status list whose
	// issued-at lies further ahead of Now is refused, so that a list dated
	// in the future can never pin the cache; default DefaultSkew.
	Skew time.Duration
	// MinForcedRefresh is the least time between two trust list fetches
	// forced by a key the held trust list does not know (a status list or
	// credential signed by a new key); default 10 s, so that crafted
	// objects cannot make the cache fetch in a storm.
	MinForcedRefresh time.Duration
}

func (c *FetchConfig) defaults() error {
	if c.Root == nil {
		return errors.New("fetch config: root public key is required")
	}
	if c.Trust == "" {
		return errors.New("fetch config: trust list location is required")
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 10*time.Second)
	def(&c.MinRefresh, time.Second)
	def(&c.MaxRefresh, 15*time.Minute)
	def(&c.MinBackoff, time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	def(&c.Tick, time.Second)
	def(&c.StreamIdle, 45*time.Second)
	def(&c.Skew, DefaultSkew)
	def(&c.MinForcedRefresh, 10*time.Second)
	if c.RefreshFraction <= 0 || c.RefreshFraction > 1 {
		c.RefreshFraction = 0.8
	}
	if c.MaxRefresh < c.MinRefresh {
		c.MaxRefresh = c.MinRefresh
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	return nil
}

// fileRecheck is how often files of the offline mode are looked at again.
const fileRecheck = 5 * time.Second

// Cache fetches the trust list and status lists, verifies them, keeps them
// in memory and refreshes them in the background before they expire. Its
// Trust and Status methods are a [TrustFunc] and a [StatusFunc]:
//
//	c, err := verifier.New(ctx, verifier.FetchConfig{Root: root, Trust: "https://issuer.example/v1/trust-list"})
//	report := verifier.Verify(ctx, text, verifier.Config{Trust: c.Trust, Status: c.Status})
//
// A request never waits for a refresh of data the cache holds, stale or
// not; the core judges staleness. Only data not yet held is fetched while
// the request waits, once however many requests wait for it. Failed
// fetches are retried with exponential backoff. A trust list with a lower
// sequence, or a status list with an older issued-at, than the one held is
// never taken.
type Cache struct {
	cfg    FetchConfig
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}
	sf     singleflight.Group

	mu     sync.RWMutex
	trust  trustEntry
	status map[statusKey]*statusEntry
	dir    dirState

	streams []*subscriber
	stats   counters
	// forcedAt is when a trust list fetch was last forced by an unknown
	// key; guarded by mu.
	forcedAt time.Time
}

type statusKey struct{ issuer, list string }

// fetchState is what the cache knows about fetching one object.
type fetchState struct {
	etag     string
	next     time.Time // refresh at or after
	retryAt  time.Time // not before, after failures
	failures int
	lastErr  error
	inflight bool
}

type trustEntry struct {
	cur *Trust
	fetchState
}

type statusEntry struct {
	cur *Status
	fetchState
}

// due reports whether the object should be fetched at now.
func (s *fetchState) due(now time.Time, held bool) bool {
	if s.inflight || now.Before(s.retryAt) {
		return false
	}
	return !held || !now.Before(s.next)
}

type counters struct {
	fetches, notModified, errors, refused, events, resets atomic.Uint64
}

// New starts a cache: it validates cfg, starts the background refresh loop
// and the event stream subscribers, and returns without waiting for the
// first fetch. Everything stops when ctx is done or Close is called.
func New(ctx context.Context, cfg FetchConfig) (*Cache, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if !isHTTP(cfg.Trust) {
		if _, err := readFile(cfg.Trust); err != nil {
			return nil, fmt.Errorf("trust list: %w", err)
		}
	}
	if cfg.StatusDir != "" {
		if fi, err := statDir(cfg.StatusDir); err != nil || !fi {
			return nil, fmt.Errorf("status directory %s: not a readable directory", cfg.StatusDir)
		}
	}
	for _, u := range cfg.Events {
		if !isHTTP(u) {
			return nil, fmt.Errorf("event stream %q: want an http or https url", u)
		}
	}
	c := &Cache{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), status: map[statusKey]*statusEntry{}}
	c.ctx, c.cancel = context.WithCancel(ctx)
	for _, u := range cfg.Events {
		s := &subscriber{c: c, url: u}
		c.streams = append(c.streams, s)
		c.wg.Go(func() { s.run(c.ctx) })
	}
	c.wg.Go(c.loop)
	return c, nil
}

// Close stops the background work and waits for it to end.
func (c *Cache) Close() {
	c.cancel()
	c.wg.Wait()
}

func (c *Cache) now() time.Time { return c.cfg.Now() }

// kick asks the background loop to look for due refreshes now.
func (c *Cache) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Cache) loop() {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	c.refreshDue()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
		}
		c.refreshDue()
	}
}

// refreshDue starts a background refresh of every object that is due.
func (c *Cache) refreshDue() {
	now := c.now()
	c.mu.RLock()
	trustDue := c.trust.due(now, c.trust.cur != nil)
	haveTrust := c.trust.cur != nil
	var due []statusKey
	if c.cfg.StatusDir == "" {
		for k, e := range c.status {
			if e.due(now, e.cur != nil) {
				due = append(due, k)
			}
		}
	}
	dirDue := c.cfg.StatusDir != "" && !now.Before(c.dir.next) && !c.dir.inflight
	c.mu.RUnlock()

	if trustDue {
		c.wg.Go(func() {
			// A request may have fetched it since: look again.
			c.mu.RLock()
			due := c.trust.due(c.now(), c.trust.cur != nil)
			c.mu.RUnlock()
			if due {
				c.refreshTrust(c.ctx)
			}
		})
	}
	if !haveTrust {
		return
	}
	for _, k := range due {
		c.wg.Go(func() {
			// Another refresh may have fetched it since: look again.
			c.mu.RLock()
			e := c.status[k]
			due := e != nil && e.due(c.now(), e.cur != nil)
			c.mu.RUnlock()
			if due {
				c.refreshStatus(c.ctx, k, nil)
			}
		})
	}
	if dirDue {
		c.wg.Go(func() { c.scanDir(c.ctx, nil) })
	}
}

// flight runs fn once for all concurrent callers with the same key, under
// the cache's own context and timeout, so that a caller giving up does not
// cancel the fetch for the others.
func (c *Cache) flight(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := c.sf.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
		defer cancel()
		return fn(fctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Trust returns the held trust list, fetching it only when none is held
// yet. It is a [TrustFunc].
func (c *Cache) Trust(ctx context.Context) (*Trust, error) {
	now := c.now()
	c.mu.RLock()
	t, due := c.trust.cur, c.trust.due(now, c.trust.cur != nil)
	retryAt, lastErr := c.trust.retryAt, c.trust.lastErr
	c.mu.RUnlock()
	if t != nil {
		if due {
			c.kick()
		}
		return t, nil
	}
	if now.Before(retryAt) {
		return nil, fmt.Errorf("retrying after %s: %w", retryAt.UTC().Format(time.RFC3339), lastErr)
	}
	return c.refreshTrust(ctx)
}

// Ready reports whether the cache can give verdicts: it holds a trust
// list that is fresh now, and status lists can be had (see statusReady).
func (c *Cache) Ready(ctx context.Context) error {
	t, err := c.Trust(ctx)
	if err != nil {
		return err
	}
	if !t.Fresh(c.now()) {
		return fmt.Errorf("trust list %d is past its next update", t.List.Sequence)
	}
	return c.statusReady()
}

// RefreshTrust fetches the trust list again, because an object names a key
// the held one does not know, and returns the trust list held afterwards.
// However many callers ask, it fetches at most once per MinForcedRefresh;
// callers within that time get the list held. It is a [TrustFunc], for
// Config.RefreshTrust.
func (c *Cache) RefreshTrust(ctx context.Context) (*Trust, error) {
	v, err := c.flight(ctx, "trust-forced", func(fctx context.Context) (any, error) {
		now := c.now()
		c.mu.Lock()
		held := c.trust.cur
		recent := !c.forcedAt.IsZero() && now.Sub(c.forcedAt) < c.cfg.MinForcedRefresh && !now.Before(c.forcedAt)
		if !recent {
			c.forcedAt = now
		}
		c.mu.Unlock()
		if recent {
			if held == nil {
				return nil, errors.New("no trust list held")
			}
			return held, nil
		}
		c.log.Info("trust list fetched again: an object names a key it does not know")
		t, err := c.refreshTrust(fctx)
		if err != nil && held != nil {
			return held, nil
		}
		return t, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Trust), nil
}

func (c *Cache) refreshTrust(ctx context.Context) (*Trust, error) {
	v, err := c.flight(ctx, "trust", c.fetchTrust)
	if err != nil {
		return nil, err
	}
	return v.(*Trust), nil
}

// fetchTrust fetches the trust list once and installs it if it verifies and
// does not go back in sequence. It returns the trust list held afterwards.
func (c *Cache) fetchTrust(ctx context.Context) (any, error) {
	c.mu.Lock()
	held, etag := c.trust.cur, c.trust.etag
	c.trust.inflight = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.trust.inflight = false
		c.mu.Unlock()
	}()

	c.stats.fetches.Add(1)
	var (
		f   fetched
		err error
	)
	if isHTTP(c.cfg.Trust) {
		f, err = c.get(ctx, c.cfg.Trust, etag)
	} else {
		f, err = readFileIfChanged(c.cfg.Trust, etag)
	}
	now := c.now()
	if err == nil && f.notModified && held == nil {
		err = errors.New("not modified, but no trust list is held")
	}
	if err != nil {
		return nil, c.trustFailed(now, fmt.Errorf("fetch trust list: %w", err))
	}
	if f.notModified {
		c.stats.notModified.Add(1)
		t := held.refetched(now)
		c.mu.Lock()
		if c.trust.cur == held {
			c.trust.cur = t
		}
		c.trust.succeeded(c.trustNext(now, t, f), f.etag)
		c.mu.Unlock()
		return t, nil
	}
	t, err := NewTrust(c.cfg.Root, f.body, now)
	if err == nil && time.Unix(t.List.IssuedAt, 0).After(now.Add(c.cfg.Skew)) {
		err = fmt.Errorf("sequence %d is issued at %s, ahead of this verifier's clock: refused",
			t.List.Sequence, time.Unix(t.List.IssuedAt, 0).UTC().Format(time.RFC3339))
	}
	if err != nil {
		c.stats.refused.Add(1)
		return nil, c.trustFailed(now, fmt.Errorf("fetch trust list: %w", err))
	}
	if held != nil && t.List.Sequence < held.List.Sequence {
		c.stats.refused.Add(1)
		return nil, c.trustFailed(now, fmt.Errorf("fetch trust list: sequence %d is lower than the %d held: refused", t.List.Sequence, held.List.Sequence))
	}
	if held != nil && t.List.Sequence > held.List.Sequence {
		if err := renumbered(held.List, t.List); err != nil {
			c.stats.refused.Add(1)
			return nil, c.trustFailed(now, fmt.Errorf("fetch trust list: sequence %d: %w: refused", t.List.Sequence, err))
		}
	}
	if held != nil && t.List.Sequence == held.List.Sequence {
		if string(t.Raw) != string(held.Raw) {
			c.log.Warn("trust list differs from the one held under the same sequence; keeping the one held", "sequence", t.List.Sequence)
		}
		t = held.refetched(now)
	}
	if held == nil || t.List.Sequence != held.List.Sequence {
		c.log.Info("trust list installed", "sequence", t.List.Sequence, "departments", len(t.List.Departments),
			"next_update", time.Unix(t.List.NextUpdate, 0).UTC())
	}
	c.mu.Lock()
	c.trust.cur = t
	c.trust.succeeded(c.trustNext(now, t, f), f.etag)
	c.mu.Unlock()
	if held != nil && held.List.Sequence != t.List.Sequence {
		c.reverify(t)
	}
	return t, nil
}

// renumbered reports a catalogue number that next gives to another type
// than held did. Numbers are given once and never reused (docs/FORMAT.md
// §10): a list that reuses one would make compact credentials of the old
// type read as the new one.
func renumbered(held, next *format.TrustList) error {
	for _, ti := range next.Types {
		if old := held.TypeNumbered(ti.Number); old != nil && old.Code != ti.Code {
			return fmt.Errorf("catalogue number %d names type %s, which the list held gave to %s", ti.Number, ti.Code, old.Code)
		}
	}
	return nil
}

// refetched returns a copy of t obtained again at now.
func (t *Trust) refetched(now time.Time) *Trust {
	t2 := *t
	t2.FetchedAt = now
	return &t2
}

func (c *Cache) trustNext(now time.Time, t *Trust, f fetched) time.Time {
	if !isHTTP(c.cfg.Trust) {
		return now.Add(fileRecheck)
	}
	return c.nextRefresh(now, time.Unix(t.List.NextUpdate, 0), f.maxAge)
}

func (c *Cache) trustFailed(now time.Time, err error) error {
	c.stats.errors.Add(1)
	c.mu.Lock()
	d := c.trust.failed(now, err, c.cfg.MinBackoff, c.cfg.MaxBackoff)
	c.mu.Unlock()
	c.log.Warn("trust list fetch failed", "err", err, "retry_in", d)
	return err
}

// reverify checks the held status lists again under a new trust list, so
// that a list signed by a key since marked compromised or retired, or no
// longer listed, is dropped (and fetched again).
func (c *Cache) reverify(t *Trust) {
	c.mu.RLock()
	held := map[statusKey]*Status{}
	for k, e := range c.status {
		if e.cur != nil {
			held[k] = e.cur
		}
	}
	c.mu.RUnlock()
	for k, old := range held {
		st, err := NewStatus(t, old.Raw, old.FetchedAt, old.Source)
		c.mu.Lock()
		if e := c.status[k]; e != nil && e.cur == old {
			if err != nil {
				c.log.Warn("status list dropped under the new trust list", "issuer", k.issuer, "list", k.list, "err", err)
				e.cur, e.next, e.etag = nil, time.Time{}, ""
			} else {
				e.cur = st
			}
		}
		c.mu.Unlock()
	}
	// Read every file of a status directory again: one refused under the
	// old trust list (a key it did not know) may verify under the new one.
	c.mu.Lock()
	c.dir.next = time.Time{}
	clear(c.dir.files)
	c.mu.Unlock()
	c.kick()
}

// Status returns the held status list of dept named list, fetching it only
// when none is held yet. It is a [StatusFunc].
func (c *Cache) Status(ctx context.Context, trust *Trust, dept *format.Department, list string) (*Status, error) {
	k := statusKey{dept.Code, list}
	now := c.now()
	c.mu.RLock()
	var (
		cur       *Status
		due, seen bool
		retryAt   time.Time
		lastErr   error
	)
	if e := c.status[k]; e != nil {
		seen, cur, due, retryAt, lastErr = true, e.cur, e.due(now, e.cur != nil), e.retryAt, e.lastErr
	}
	if c.cfg.StatusDir != "" {
		due = !now.Before(c.dir.next) && !c.dir.inflight
	}
	c.mu.RUnlock()
	if cur != nil {
		if due {
			c.kick()
		}
		return cur, nil
	}
	if c.cfg.StatusDir != "" {
		return c.statusFromDir(ctx, trust, k)
	}
	if seen && now.Before(retryAt) {
		return nil, fmt.Errorf("retrying after %s: %w", retryAt.UTC().Format(time.RFC3339), lastErr)
	}
	return c.refreshStatus(ctx, k, trust)
}

func (c *Cache) refreshStatus(ctx context.Context, k statusKey, trust *Trust) (*Status, error) {
	v, err := c.flight(ctx, "status\x00"+k.issuer+"\x00"+k.list, func(fctx context.Context) (any, error) {
		return c.fetchStatus(fctx, k, trust)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Status), nil
}

// entry returns the status entry for k, creating it; c.mu must be held.
func (c *Cache) entry(k statusKey) *statusEntry {
	e := c.status[k]
	if e == nil {
		e = &statusEntry{}
		c.status[k] = e
	}
	return e
}

// fetchStatus fetches one status list over HTTP from its department's
// StatusURL and installs it unless it is older than the one held. trust is
// the trust list to verify it under; nil takes the one held.
func (c *Cache) fetchStatus(ctx context.Context, k statusKey, trust *Trust) (any, error) {
	c.mu.Lock()
	if trust == nil {
		trust = c.trust.cur
	}
	e := c.entry(k)
	held, etag := e.cur, e.etag
	e.inflight = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		e.inflight = false
		c.mu.Unlock()
	}()

	fail := func(err error) (any, error) {
		err = fmt.Errorf("status list %s/%s: %w", k.issuer, k.list, err)
		c.stats.errors.Add(1)
		now := c.now()
		c.mu.Lock()
		d := e.failed(now, err, c.cfg.MinBackoff, c.cfg.MaxBackoff)
		c.mu.Unlock()
		c.log.Warn("status list fetch failed", "issuer", k.issuer, "list", k.list, "err", err, "retry_in", d)
		if held != nil {
			return held, nil
		}
		return nil, err
	}
	if trust == nil {
		return fail(errors.New("no trust list held"))
	}
	dept := trust.List.Department(k.issuer)
	if dept == nil {
		return fail(errors.New("department not in the trust list"))
	}
	u, err := statusURL(dept, k.list)
	if err != nil {
		return fail(err)
	}
	c.stats.fetches.Add(1)
	f, err := c.get(ctx, u, etag)
	now := c.now()
	if err == nil && f.notModified && held == nil {
		err = errors.New("not modified, but no list is held")
	}
	if err != nil {
		return fail(err)
	}
	if f.notModified {
		c.stats.notModified.Add(1)
		st := held.refetched(now)
		c.mu.Lock()
		if e.cur == held {
			e.cur = st
		}
		e.succeeded(c.nextRefresh(now, held.Expires(), f.maxAge), f.etag)
		cur := e.cur
		c.mu.Unlock()
		return cur, nil
	}
	st, err := c.verifyStatus(ctx, trust, f.body, now, sourceHTTP)
	if err == nil && (st.List.Issuer != k.issuer || st.List.List != k.list) {
		err = fmt.Errorf("the server returned list %s/%s", st.List.Issuer, st.List.List)
	}
	if err != nil {
		c.stats.refused.Add(1)
		return fail(err)
	}
	cur, err := c.install(k, st, f.etag, c.nextRefresh(now, st.Expires(), f.maxAge))
	if err != nil {
		return fail(err)
	}
	return cur, nil
}

// verifyStatus verifies a status list under trust. When its key is not in
// trust, the list may be signed by a key that a newer trust list names (a
// key rotation whose lists arrive before the trust list): the trust list is
// fetched again once (rate-bounded, see RefreshTrust) and the list verified
// under what is held then.
func (c *Cache) verifyStatus(ctx context.Context, trust *Trust, raw []byte, now time.Time, source string) (*Status, error) {
	st, err := NewStatus(trust, raw, now, source)
	if !errors.Is(err, ErrStatusKeyUnknown) {
		return st, err
	}
	t, rerr := c.RefreshTrust(ctx)
	if rerr != nil || t == nil || t.List.Sequence == trust.List.Sequence {
		return nil, err
	}
	return NewStatus(t, raw, now, source)
}

// install puts st in the cache unless the one held is newer, and returns
// the list held afterwards. A list with the same issued-at replaces the one
// held, except that a list from HTTP does not replace one from the event
// stream: a fetch that started before a revocation may end after its event.
//
// It refuses a list dated beyond the clock-skew tolerance, which would
// otherwise stay "newest" and pin the cache against every genuine list.
// A list verified under an older trust list than the one held now (its
// fetch was in flight while the trust list changed) is verified again under
// the one held, so that it is never installed under the old trust.
func (c *Cache) install(k statusKey, st *Status, etag string, next time.Time) (*Status, error) {
	if st.IssuedAt().After(c.now().Add(c.cfg.Skew)) {
		c.stats.refused.Add(1)
		c.log.Warn("status list dated in the future: refused", "issuer", k.issuer, "list", k.list,
			"issued_at", st.IssuedAt(), "source", st.Source)
		return nil, fmt.Errorf("issued at %s, ahead of this verifier's clock: refused", st.IssuedAt().Format(time.RFC3339))
	}
	for {
		c.mu.RLock()
		trust := c.trust.cur
		c.mu.RUnlock()
		if trust != nil && trust.List.Sequence != st.trustSeq {
			again, err := NewStatus(trust, st.Raw, st.FetchedAt, st.Source)
			if err != nil {
				c.stats.refused.Add(1)
				c.log.Warn("status list refused under the trust list installed meanwhile", "issuer", k.issuer, "list", k.list, "err", err)
				return nil, err
			}
			st = again
		}
		c.mu.Lock()
		if cur := c.trust.cur; cur != nil && cur.List.Sequence != st.trustSeq {
			c.mu.Unlock()
			continue // the trust list changed again: verify again
		}
		defer c.mu.Unlock()
		return c.installLocked(k, st, etag, next), nil
	}
}

// installLocked is install once st is verified under the trust list held;
// c.mu must be held.
func (c *Cache) installLocked(k statusKey, st *Status, etag string, next time.Time) *Status {
	e := c.entry(k)
	e.succeeded(next, etag)
	if old := e.cur; old != nil {
		switch {
		case st.List.IssuedAt < old.List.IssuedAt:
			c.stats.refused.Add(1)
			c.log.Warn("status list older than the one held: refused", "issuer", k.issuer, "list", k.list,
				"issued_at", st.IssuedAt(), "held_issued_at", old.IssuedAt(), "source", st.Source)
			e.etag = ""
			return old
		case st.List.IssuedAt == old.List.IssuedAt && string(st.Raw) != string(old.Raw) &&
			old.Source == sourceStream && st.Source != sourceStream:
			e.etag = ""
			return old
		}
	}
	e.cur = st
	return st
}

// Sources of status lists, as reported in StatusReport.Source.
const (
	sourceHTTP   = "http"
	sourceStream = "stream"
	sourceFile   = "file"
)

func (s *Status) refetched(now time.Time) *Status {
	s2 := *s
	s2.FetchedAt = now
	return &s2
}

// statusURL expands a department's StatusURL for list.
func statusURL(d *format.Department, list string) (string, error) {
	if d.StatusURL == "" {
		return "", errors.New("department publishes no status url")
	}
	u := strings.ReplaceAll(d.StatusURL, "{list}", url.PathEscape(list))
	if !isHTTP(u) {
		return "", fmt.Errorf("status url %q is not http or https", d.StatusURL)
	}
	return u, nil
}

// nextRefresh returns when to refresh an object obtained at now that is
// valid until validUntil and, per HTTP, fresh for maxAge (negative: not
// said): after RefreshFraction of whichever lifetime ends first, within
// [MinRefresh, MaxRefresh].
func (c *Cache) nextRefresh(now, validUntil time.Time, maxAge time.Duration) time.Time {
	life := validUntil.Sub(now)
	if maxAge >= 0 && (life <= 0 || maxAge < life) {
		life = maxAge
	}
	d := time.Duration(float64(life) * c.cfg.RefreshFraction)
	d = min(max(d, c.cfg.MinRefresh), c.cfg.MaxRefresh)
	return now.Add(d)
}

// failed records a failure and returns the backoff chosen.
func (s *fetchState) failed(now time.Time, err error, lo, hi time.Duration) time.Duration {
	s.failures++
	d := backoff(s.failures, lo, hi)
	s.retryAt, s.lastErr = now.Add(d), err
	return d
}

func (s *fetchState) succeeded(next time.Time, etag string) {
	s.failures, s.retryAt, s.lastErr = 0, time.Time{}, nil
	s.next, s.etag = next, etag
}

// backoff returns the wait after n consecutive failures: lo doubled n-1
// times, at most hi, less up to a quarter of random jitter so that many
// verifiers do not retry in step.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// fetched is the outcome of one conditional GET or file read.
type fetched struct {
	body        []byte
	etag        string
	maxAge      time.Duration // negative when the server did not say
	notModified bool
}

func isHTTP(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// get makes a conditional GET of a signed object.
func (c *Cache) get(ctx context.Context, rawURL, etag string) (fetched, error) {
	f := fetched{maxAge: -1}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return f, fmt.Errorf("bad url: %w", err)
	}
	req.Header.Set("Accept", "application/cbor")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	where := req.URL.Redacted()
	if i := strings.IndexByte(where, '?'); i >= 0 {
		where = where[:i]
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return f, fmt.Errorf("get %s: %w", where, ctx.Err())
		}
		return f, fmt.Errorf("get %s: %w", where, unwrapURLError(err))
	}
	defer resp.Body.Close()
	f.etag = resp.Header.Get("ETag")
	f.maxAge = maxAge(resp.Header.Values("Cache-Control"))
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		if etag == "" {
			return f, fmt.Errorf("get %s: 304 to an unconditional request", where)
		}
		if f.etag == "" {
			f.etag = etag
		}
		f.notModified = true
		return f, nil
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return f, fmt.Errorf("get %s: %s", where, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, format.MaxSigned+1))
	if err != nil {
		return f, fmt.Errorf("get %s: read body: %w", where, err)
	}
	if len(body) > format.MaxSigned {
		return f, fmt.Errorf("get %s: body larger than %d bytes", where, format.MaxSigned)
	}
	f.body = body
	return f, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// maxAge returns the max-age of Cache-Control header values, 0 for no-cache
// or no-store, or -1 when they say nothing about freshness.
func maxAge(values []string) time.Duration {
	d := time.Duration(-1)
	for _, v := range values {
		for _, dir := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
				if err == nil && n >= 0 && n < 1<<31 {
					d = time.Duration(n) * time.Second
				}
			}
		}
	}
	return d
}

// CacheStats describes what a Cache holds, for metrics and health pages.
type CacheStats struct {
	// TrustSequence is the held trust list's sequence, 0 when none is held.
	TrustSequence   uint64
	TrustFetchedAt  time.Time
	TrustNextUpdate time.Time
	// Lists are the held status lists.
	Lists []ListStats
	// Streams is the number of event streams configured, StreamsConnected
	// how many are connected now.
	Streams, StreamsConnected int
	// Fetches counts fetch attempts; NotModified the 304 answers; Errors
	// the failed fetches; Refused the objects that did not verify or went
	// back in time; Events the stream events applied; Resets the reset
	// events received (changes missed, everything refetched).
	Fetches, NotModified, Errors, Refused, Events, Resets uint64
}

// ListStats describes one held status list.
type ListStats struct {
	Issuer, List string
	IssuedAt     time.Time
	FetchedAt    time.Time
	Source       string
}

// Stats returns what the cache holds now.
func (c *Cache) Stats() CacheStats {
	var s CacheStats
	c.mu.RLock()
	if t := c.trust.cur; t != nil {
		s.TrustSequence, s.TrustFetchedAt = t.List.Sequence, t.FetchedAt
		s.TrustNextUpdate = time.Unix(t.List.NextUpdate, 0).UTC()
	}
	for k, e := range c.status {
		if e.cur != nil {
			s.Lists = append(s.Lists, ListStats{Issuer: k.issuer, List: k.list, IssuedAt: e.cur.IssuedAt(), FetchedAt: e.cur.FetchedAt, Source: e.cur.Source})
		}
	}
	c.mu.RUnlock()
	s.Streams = len(c.streams)
	for _, st := range c.streams {
		if st.connected.Load() {
			s.StreamsConnected++
		}
	}
	s.Fetches, s.NotModified, s.Errors = c.stats.fetches.Load(), c.stats.notModified.Load(), c.stats.errors.Load()
	s.Refused, s.Events, s.Resets = c.stats.refused.Load(), c.stats.events.Load(), c.stats.resets.Load()
	return s
}
