package issuer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicence/format"
	"elicence/issuer/store"
	"elicence/issuer/store/sqlite"
)

// TestPresentationTTLCapped: the issuer refuses a presentation lifetime that
// verifiers would refuse (format.MaxPresentationLifetime), and accepts the cap
// itself; annotated copies share the verifiers' cap by construction.
func TestPresentationTTLCapped(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "cap.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := New(Config{Store: st, PresentationTTL: format.MaxPresentationLifetime + time.Second}); err == nil || !strings.Contains(err.Error(), "presentation ttl") {
		t.Fatalf("New with a presentation ttl beyond the cap: err %v, want a refusal", err)
	}
	s, err := New(Config{Store: st, PresentationTTL: format.MaxPresentationLifetime})
	if err != nil {
		t.Fatalf("New at the cap: %v", err)
	}
	s.Close()
	if MaxAnnotatedCopyValidity != format.MaxAnnotatedCopyLifetime {
		t.Fatalf("issuer annotated copy cap %s, verifiers accept %s", MaxAnnotatedCopyValidity, format.MaxAnnotatedCopyLifetime)
	}
}

// TestEventHubWake: a wake makes the poller read the audit log at once,
// not at its next tick (an hour away here), and wakes never block.
func TestEventHubWake(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "wake.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(Config{Store: st, EventPollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub, err := s.Publication.Subscribe(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	h := s.Publication.events
	seen := func() int64 { h.mu.Lock(); defer h.mu.Unlock(); return h.last }
	if seen() != 0 {
		t.Fatalf("hub starts at %d on an empty log", seen())
	}
	if _, err := st.AppendAudit(ctx, store.AuditEvent{Actor: "test", Action: "test"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.wake() // never blocks, however many come
	}
	deadline := time.Now().Add(10 * time.Second)
	for seen() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the woken hub has read up to %d, want 1", seen())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
