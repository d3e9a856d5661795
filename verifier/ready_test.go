package verifier

import (
	"context"
	"testing"
	"time"
)

// TestCacheNotReadyWithoutStatus shows that a verifier holding a fresh
// trust list but no status list it can fetch says it is not ready (every
// answer would be TRY_LATER), and is ready again once the lists come back,
// without a restart.
func TestCacheNotReadyWithoutStatus(t *testing.T) {
	e := newEnv(t)
	e.warm(t)
	ctx := context.Background()
	if err := e.cache.Ready(ctx); err != nil {
		t.Fatalf("ready with a fresh trust list and no status list tried yet: %v", err)
	}
	e.iss.SetFailing(true)
	text := e.qr(t, 1)
	want(t, e.verify(text), Indeterminate, TryLater)
	if err := e.cache.Ready(ctx); err == nil {
		t.Fatal("ready while every status list fetch fails and none is held")
	}
	e.iss.SetFailing(false)
	eventually(t, 5*time.Second, "verdict after the outage", func() bool {
		e.clock.Advance(time.Second) // past the backoff
		return e.verify(text).Indication == Passed
	})
	if err := e.cache.Ready(ctx); err != nil {
		t.Fatalf("not ready after the status list came back: %v", err)
	}
	// A held list keeps the verifier ready while its source fails.
	e.iss.SetFailing(true)
	e.clock.Advance(10 * time.Minute)
	want(t, e.verify(text), Passed, "")
	if err := e.cache.Ready(ctx); err != nil {
		t.Fatalf("not ready while a held status list serves: %v", err)
	}
}
