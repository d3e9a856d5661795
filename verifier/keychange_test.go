package verifier

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicence/format"
	"elicence/tlog"
	"elicence/verifier/verifiertest"
)

// TestInstallRecheckedUnderCurrentTrust: a status list whose fetch was in
// flight while the trust list changed (verified under sequence 1, installed
// after sequence 2 marked its key compromised) is refused, not installed
// under the old trust.
func TestInstallRecheckedUnderCurrentTrust(t *testing.T) {
	e := newEnv(t)
	e.warm(t)
	old, err := e.cache.Trust(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw := e.iss.StatusList(e.d, "L1")
	st, err := NewStatus(old, raw, t0, sourceHTTP) // the fetch, done under sequence 1
	if err != nil {
		t.Fatal(err)
	}
	// Meanwhile the key is marked compromised and sequence 2 installed.
	e.d.SetKeyState(format.KeyCompromised, t0.Add(-time.Hour))
	e.w.NewKey(t, e.d)
	e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
	if tr, err := e.cache.refreshTrust(context.Background()); err != nil || tr.List.Sequence != 2 {
		t.Fatalf("sequence 2 not installed: %v", err)
	}
	k := statusKey{e.d.Code, "L1"}
	if got, err := e.cache.install(k, st, "", time.Time{}); !errors.Is(err, ErrStatusKeyState) || got != nil {
		t.Fatalf("install of a list verified under the old trust: %v, %v; want refused for its key state", got, err)
	}
	if n := len(e.cache.Stats().Lists); n != 0 {
		t.Fatalf("%d lists held, want none", n)
	}
	// A list verified under the current trust list installs.
	e.iss.Resign(e.d, "L1")
	cur, _ := e.cache.Trust(context.Background())
	st2, err := NewStatus(cur, e.iss.StatusList(e.d, "L1"), t0, sourceHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.cache.install(k, st2, "", time.Time{}); err != nil || got != st2 {
		t.Fatalf("install under the current trust: %v", err)
	}
}

// TestReverifyDropsListsOfRetiredAndRemovedKeys: each new trust list is
// checked against every held status list; a list whose key is now retired,
// or no longer listed at all, is dropped.
func TestReverifyDropsListsOfRetiredAndRemovedKeys(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(e *env)
	}{
		{"retired", func(e *env) { e.d.SetKeyState(format.KeyRetired, t0) }},
		{"removed", func(e *env) { e.d.Keys = e.d.Keys[:0] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			want(t, e.verify(e.qr(t, 5)), Passed, "")
			c.change(e)
			e.w.NewKey(t, e.d)
			e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
			if tr, err := e.cache.refreshTrust(context.Background()); err != nil || tr.List.Sequence != 2 {
				t.Fatalf("sequence 2 not installed: %v", err)
			}
			for _, l := range e.cache.Stats().Lists {
				if l.IssuedAt.Equal(t0) {
					t.Fatal("list signed by the old key still held")
				}
			}
		})
	}
}

// TestVerifyRechecksStatusKey: a StatusFunc that answers a list verified
// under an older trust list (as a cache might, for a moment) is not used
// once the trust list in use no longer vouches for the list's key.
func TestVerifyRechecksStatusKey(t *testing.T) {
	w := verifiertest.NewWorld(t)
	d := w.Depts[0]
	t1, err := NewTrust(w.RootPublic(), w.SignTrust(t, 1, t0, t0.Add(time.Hour)), t0)
	if err != nil {
		t.Fatal(err)
	}
	set := StatusSet{}
	if err := set.Add(t1, w.SignStatus(t, d, "L1", format.MinStatusListSize, t0, 5*time.Minute, nil), t0, "file"); err != nil {
		t.Fatal(err)
	}
	d.SetKeyState(format.KeyRetired, t0)
	w.NewKey(t, d)
	t2, err := NewTrust(w.RootPublic(), w.SignTrust(t, 2, t0, t0.Add(time.Hour)), t0)
	if err != nil {
		t.Fatal(err)
	}
	text := w.QR(t, d, w.Credential(d, "1", "L1", 3, t0.Add(-time.Hour)))
	now := func() time.Time { return t0.Add(time.Minute) }
	r := Verify(context.Background(), text, Config{Trust: StaticTrust(t2), Status: set.Func(), Now: now})
	want(t, r, Indeterminate, TryLater)
	if c := decidedBy(r); c != CheckStatus {
		t.Fatalf("decided by %s (%+v), want the status check", c, r.Checks)
	}
}

// TestUnknownKeyRefreshesTrustOnce: a status list and a credential signed by
// a department's new key, arriving before the trust list that names it,
// make the cache fetch the trust list again once and pass; a storm of
// objects naming unknown keys fetches it at most once per MinForcedRefresh.
func TestUnknownKeyRefreshesTrustOnce(t *testing.T) {
	e := newEnv(t)
	e.cfg.RefreshTrust = e.cache.RefreshTrust
	e.warm(t)
	// The department rotates: the issuer double signs with the new key and
	// serves sequence 2 naming it, but the cache holds sequence 1 and has
	// no reason to fetch again before MaxRefresh.
	e.d.SetKeyState(format.KeyRetired, t0)
	e.w.NewKey(t, e.d)
	e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
	e.clock.Advance(time.Second)
	before := e.iss.TrustGets.Load()
	want(t, e.verify(e.qr(t, 1)), Passed, "")
	if n := e.iss.TrustGets.Load() - before; n != 1 {
		t.Fatalf("%d trust list fetches, want 1", n)
	}

	// An attacker's credentials name keys nobody knows: within
	// MinForcedRefresh no further fetch, however many.
	evil := verifiertest.NewWorld(t)
	evil.Depts[0].Code = e.d.Code
	before = e.iss.TrustGets.Load()
	for i := range 20 {
		text := evil.QR(t, evil.Depts[0], evil.Credential(evil.Depts[0], verifiertest.Serial(i), "L1", 1, t0.Add(-time.Hour)))
		want(t, e.verify(text), Failed, UnknownKey)
	}
	if n := e.iss.TrustGets.Load() - before; n > 1 {
		t.Fatalf("%d trust list fetches for unknown keys within %s, want at most 1", n, e.cache.cfg.MinForcedRefresh)
	}
	// After MinForcedRefresh one more is allowed.
	e.clock.Advance(e.cache.cfg.MinForcedRefresh)
	before = e.iss.TrustGets.Load()
	text := evil.QR(t, evil.Depts[0], evil.Credential(evil.Depts[0], "99", "L1", 1, t0.Add(-time.Hour)))
	want(t, e.verify(text), Failed, UnknownKey)
	if n := e.iss.TrustGets.Load() - before; n != 1 {
		t.Fatalf("%d trust list fetches after the interval, want 1", n)
	}
}

// TestUnknownStatusKeyRefreshesTrust: a status list signed by a new key
// that arrives before the trust list naming it (the e2e flake) is verified
// after one trust list refresh, instead of TRY_LATER.
func TestUnknownStatusKeyRefreshesTrust(t *testing.T) {
	e := newEnv(t)
	e.warm(t)
	cred := e.qr(t, 2) // signed by the first key, still active
	next := *e.d
	e.w.NewKey(t, &next)
	e.d.Keys = next.Keys // both keys active in sequence 2
	e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
	e.d.Key = next.Key // lists are now signed by the new key
	want(t, e.verify(cred), Passed, "")
	if tr, _ := e.cache.Trust(context.Background()); tr.List.Sequence != 2 {
		t.Fatalf("trust sequence %d, want 2", tr.List.Sequence)
	}
}

// fakeEvidence is an Evidence answering from functions.
type fakeEvidence struct {
	prove func(ctx context.Context, trust *Trust, dept *format.Department, leaf tlog.Leaf, before time.Time) (*LogProof, error)
	start time.Time
}

func (f fakeEvidence) Prove(ctx context.Context, trust *Trust, dept *format.Department, leaf tlog.Leaf, before time.Time) (*LogProof, error) {
	return f.prove(ctx, trust, dept, leaf, before)
}

func (f fakeEvidence) LogStart(context.Context, *Trust, *format.Department) (time.Time, error) {
	return f.start, nil
}

// TestEvidenceSeam: the optional evidence is the only way a credential
// signed by a compromised key can pass; it is never consulted for
// presentations, for departments without a log, and its failure is
// TRY_LATER.
func TestEvidenceSeam(t *testing.T) {
	w := verifiertest.NewWorld(t)
	d := w.Depts[0]
	w.NewLog(t, d, func() time.Time { return t0 })
	cred := w.Credential(d, "1", "L1", 3, t0.Add(-2*time.Hour))
	signed := w.Sign(t, d, cred)
	pres := w.PresentationQR(t, d, signed, t0.Add(-10*time.Second), time.Minute)
	d.SetKeyState(format.KeyCompromised, t0.Add(-time.Hour))
	tComp, err := NewTrust(w.RootPublic(), w.SignTrust(t, 2, t0.Add(-time.Minute), t0.Add(time.Hour)), t0)
	if err != nil {
		t.Fatal(err)
	}
	// Status lists signed by the compromised key are not usable under
	// sequence 2, so verify with a status func that ignores trust.
	status := func(context.Context, *Trust, *format.Department, string) (*Status, error) {
		return nil, errors.New("no list")
	}
	asked := 0
	proof := &LogProof{Origin: d.Log.Origin, Size: 5, Index: 1, Witness: "w", CosignedAt: t0.Add(-90 * time.Minute)}
	yes := fakeEvidence{prove: func(_ context.Context, _ *Trust, dept *format.Department, leaf tlog.Leaf, before time.Time) (*LogProof, error) {
		asked++
		if dept.Code != d.Code || !before.Equal(t0.Add(-time.Hour).Truncate(time.Second)) || leaf != tlog.NewLeaf(tlog.KindCredential, signed.Encode()) {
			t.Errorf("evidence asked about %s %v %x", dept.Code, before, leaf.Marshal())
		}
		return proof, nil
	}}
	no := fakeEvidence{prove: func(context.Context, *Trust, *format.Department, tlog.Leaf, time.Time) (*LogProof, error) {
		return nil, noEvidence("not in the log")
	}}
	broken := fakeEvidence{prove: func(context.Context, *Trust, *format.Department, tlog.Leaf, time.Time) (*LogProof, error) {
		return nil, errors.New("log unreachable")
	}}
	cfg := func(ev Evidence) Config {
		return Config{Trust: StaticTrust(tComp), Status: status, Now: func() time.Time { return t0 }, Evidence: ev}
	}
	text := format.QRText(format.KindCredential, signed)
	want(t, Verify(context.Background(), text, cfg(nil)), Failed, KeyCompromised)
	want(t, Verify(context.Background(), text, cfg(no)), Failed, KeyCompromised)
	want(t, Verify(context.Background(), text, cfg(broken)), Indeterminate, TryLater)
	// With evidence the key check passes and the report names the
	// checkpoint; the verdict then rests on status (unavailable here:
	// TRY_LATER, from the status check).
	r := Verify(context.Background(), text, cfg(yes))
	want(t, r, Indeterminate, TryLater)
	if c := decidedBy(r); c != CheckStatus || r.LogProof != proof {
		t.Fatalf("decided by %s (%+v), log proof %+v: want the status check, with the proof", c, r.Checks, r.LogProof)
	}
	asked = 0
	want(t, Verify(context.Background(), pres, cfg(yes)), Failed, KeyCompromised)
	if asked != 0 {
		t.Fatal("evidence consulted for a presentation")
	}
}

// TestBundleSameSizeSameTime: a new bundle of the same size with the old
// modification time (as cp -p, rsync -t or tar leave it, or a write within
// one timestamp tick) is read, because files are compared by content.
func TestBundleSameSizeSameTime(t *testing.T) {
	o := newOffline(t)
	valid := o.qr(t, 1)
	sign := func(seq uint64, at time.Time, revoked ...uint32) (trust, list []byte) {
		set := map[uint32]format.Status{}
		for _, i := range revoked {
			set[i] = format.StatusRevoked
		}
		return o.w.SignTrust(t, seq, t0, t0.Add(48*time.Hour)), o.w.SignStatus(t, o.d, "L1", format.MinStatusListSize, at, time.Hour, set)
	}
	tr2, l2 := sign(2, t0.Add(time.Second), 2, 3)
	o.write(t, tr2, l2)
	o.clock.Advance(fileRecheck)
	eventually(t, 5*time.Second, "bundle 2 read", func() bool {
		tr, _ := o.cache.Trust(context.Background())
		return tr.List.Sequence == 2 && o.verify(valid).Indication == Passed
	})
	statusFile := filepath.Join(o.dir, BundleStatusDir, bundleName(o.d.Code, "L1"))
	trustFile := filepath.Join(o.dir, BundleTrustFile)
	fiS, _ := os.Stat(statusFile)
	fiT, _ := os.Stat(trustFile)

	// Bundle 3 revokes entry 1: same sizes, and given the old times.
	tr3, l3 := sign(3, t0.Add(2*time.Second), 1, 2)
	o.write(t, tr3, l3)
	gS, _ := os.Stat(statusFile)
	gT, _ := os.Stat(trustFile)
	if gS.Size() != fiS.Size() || gT.Size() != fiT.Size() {
		t.Fatalf("sizes changed (%d→%d, %d→%d): the case needs equal sizes", fiS.Size(), gS.Size(), fiT.Size(), gT.Size())
	}
	for _, f := range []struct {
		path string
		fi   os.FileInfo
	}{{statusFile, fiS}, {trustFile, fiT}} {
		if err := os.Chtimes(f.path, f.fi.ModTime(), f.fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	o.clock.Advance(fileRecheck)
	eventually(t, 5*time.Second, "same-size, same-time bundle 3 read", func() bool {
		tr, _ := o.cache.Trust(context.Background())
		return o.verify(valid).SubIndication == Revoked && tr.List.Sequence == 3
	})
}

// decidedBy returns the name of the first check that did not pass.
func decidedBy(r *Report) string {
	for _, c := range r.Checks {
		if c.Result != CheckPassed {
			return c.Name
		}
	}
	return ""
}

// TestStreamEventNewKeyAndFutureDate: a status event carrying a list signed
// by a key that only a newer trust list names is applied after one trust
// refresh; one carrying a list dated beyond the skew is refused and does
// not pin the cache against the genuine list that follows.
func TestStreamEventNewKeyAndFutureDate(t *testing.T) {
	e := newEnv(t)
	text := e.qr(t, 3)
	want(t, e.verify(text), Passed, "")
	ctx := context.Background()
	event := func(raw []byte) []byte {
		ev, _ := json.Marshal(StatusEvent{Issuer: e.d.Code, List: "L1", StatusList: base64.StdEncoding.EncodeToString(raw)})
		return ev
	}
	revoked := map[uint32]format.Status{3: format.StatusRevoked}

	future := e.w.SignStatus(t, e.d, "L1", format.MinStatusListSize, t0.Add(time.Hour), time.Hour, nil)
	if err := e.cache.applyEvent(ctx, event(future)); err == nil {
		t.Fatal("future-dated list from the stream accepted")
	}
	e.clock.Advance(time.Second)
	if err := e.cache.applyEvent(ctx, event(e.w.SignStatus(t, e.d, "L1", format.MinStatusListSize, e.clock.Now(), time.Hour, revoked))); err != nil {
		t.Fatal(err)
	}
	want(t, e.verify(text), Failed, Revoked)

	// A new key, both keys active in sequence 2, which the cache has not seen.
	next := *e.d
	e.w.NewKey(t, &next)
	e.d.Keys = next.Keys
	e.iss.PublishTrust(2, t0, t0.Add(24*time.Hour))
	e.d.Key = next.Key
	e.clock.Advance(time.Second)
	if err := e.cache.applyEvent(ctx, event(e.w.SignStatus(t, e.d, "L1", format.MinStatusListSize, e.clock.Now(), time.Hour, nil))); err != nil {
		t.Fatalf("list by the new key: %v", err)
	}
	want(t, e.verify(text), Passed, "")
}
