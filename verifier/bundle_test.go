package verifier

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicence/format"
	"elicence/verifier/verifiertest"
)

// offline is a verifier reading a bundle directory, with no network.
type offline struct {
	w     *verifiertest.World
	d     *verifiertest.Dept
	clock *verifiertest.Clock
	dir   string
	cache *Cache
	cfg   Config
}

func newOffline(t *testing.T) *offline {
	o := &offline{w: verifiertest.NewWorld(t), clock: verifiertest.NewClock(t0), dir: t.TempDir()}
	o.d = o.w.Depts[0]
	o.write(t, o.w.SignTrust(t, 1, t0, t0.Add(48*time.Hour)),
		o.w.SignStatus(t, o.d, "L1", format.MinStatusListSize, t0, time.Hour, map[uint32]format.Status{2: format.StatusRevoked}))
	c, err := New(context.Background(), FetchConfig{
		Root: o.w.RootPublic(), Trust: filepath.Join(o.dir, BundleTrustFile), StatusDir: filepath.Join(o.dir, BundleStatusDir),
		Now: o.clock.Now, Logger: quiet(), Tick: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	o.cache = c
	o.cfg = Config{Trust: c.Trust, Status: c.Status, Now: o.clock.Now, MaxStaleness: 24 * time.Hour}
	return o
}

func (o *offline) write(t *testing.T, trust []byte, lists ...[]byte) {
	t.Helper()
	if err := WriteBundle(o.dir, trust, lists...); err != nil {
		t.Fatal(err)
	}
}

func (o *offline) verify(text string) *Report { return Verify(context.Background(), text, o.cfg) }

func (o *offline) qr(t *testing.T, index uint32) string {
	return o.w.QR(t, o.d, o.w.Credential(o.d, verifiertest.Serial(int(index)), "L1", index, t0.Add(-time.Hour)))
}

func TestBundleOffline(t *testing.T) {
	o := newOffline(t)
	valid, revoked := o.qr(t, 1), o.qr(t, 2)
	r := o.verify(valid)
	want(t, r, Passed, "")
	if r.Status.Source != "file" {
		t.Fatalf("source %q, want file", r.Status.Source)
	}
	want(t, o.verify(revoked), Failed, Revoked)

	// A newer bundle revokes entry 1; it is picked up within seconds.
	o.clock.Advance(time.Hour)
	o.write(t, o.w.SignTrust(t, 2, t0, t0.Add(48*time.Hour)),
		o.w.SignStatus(t, o.d, "L1", format.MinStatusListSize, t0.Add(time.Hour), time.Hour,
			map[uint32]format.Status{1: format.StatusRevoked, 2: format.StatusRevoked}))
	o.clock.Advance(fileRecheck)
	eventually(t, 5*time.Second, "newer bundle read", func() bool {
		tr, _ := o.cache.Trust(context.Background())
		return o.verify(valid).SubIndication == Revoked && tr.List.Sequence == 2
	})

	// An older bundle copied over it changes nothing.
	o.clock.Advance(fileRecheck)
	o.write(t, o.w.SignTrust(t, 1, t0, t0.Add(48*time.Hour)),
		o.w.SignStatus(t, o.d, "L1", format.MinStatusListSize, t0, time.Hour, nil))
	o.clock.Advance(fileRecheck)
	before := o.cache.Stats().Refused
	o.verify(valid) // starts the background read
	eventually(t, 5*time.Second, "older bundle read and refused", func() bool { return o.cache.Stats().Refused >= before+2 })
	want(t, o.verify(valid), Failed, Revoked)
	if tr, _ := o.cache.Trust(context.Background()); tr.List.Sequence != 2 {
		t.Fatalf("trust sequence went back to %d", tr.List.Sequence)
	}

	// Past the maximum staleness the offline verifier says try later.
	o.clock.Set(t0.Add(time.Hour + 24*time.Hour + time.Second))
	want(t, o.verify(valid), Indeterminate, TryLater)
	want(t, o.verify(revoked), Indeterminate, TryLater)
}

func TestBundleUnknownListAndJunk(t *testing.T) {
	o := newOffline(t)
	if err := os.WriteFile(filepath.Join(o.dir, BundleStatusDir, "junk.cbor"), []byte("not a status list"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := o.w.QR(t, o.d, o.w.Credential(o.d, "9", "L9", 1, t0.Add(-time.Hour)))
	r := o.verify(text)
	want(t, r, Indeterminate, TryLater)
	want(t, o.verify(o.qr(t, 1)), Passed, "")
	if o.cache.Stats().Refused != 1 {
		t.Fatalf("stats %+v, want the junk file refused", o.cache.Stats())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	w := verifiertest.NewWorld(t)
	for name, fc := range map[string]FetchConfig{
		"no root":        {Trust: "http://x/v1/trust-list"},
		"no trust":       {Root: w.RootPublic()},
		"missing file":   {Root: w.RootPublic(), Trust: filepath.Join(t.TempDir(), "none")},
		"status not dir": {Root: w.RootPublic(), Trust: "http://x/", StatusDir: filepath.Join(t.TempDir(), "none")},
		"bad events":     {Root: w.RootPublic(), Trust: "http://x/", Events: []string{"ftp://x"}},
	} {
		if c, err := New(context.Background(), fc); err == nil {
			c.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
