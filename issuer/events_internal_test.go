package issuer

import (
	"context"
	"sync"
	"testing"
	"time"

	"elicence/issuer/store"
)

// auditLog is a store of which only the audit log's reading is used: the
// event hub's.
type auditLog struct {
	store.Store
	mu      sync.Mutex
	entries []store.AuditEntry
}

func (l *auditLog) append() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, store.AuditEntry{Seq: int64(len(l.entries) + 1), Actor: "test", Action: "test"})
}

func (l *auditLog) AuditHead(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.entries)), nil
}

func (l *auditLog) ListAudit(_ context.Context, after int64, limit int) ([]store.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after >= int64(len(l.entries)) {
		return nil, nil
	}
	return append([]store.AuditEntry(nil), l.entries[after:min(int64(len(l.entries)), after+int64(limit))]...), nil
}

// TestEventHubWake: a wake makes the poller read the audit log at once,
// not at its next tick (an hour away here), and wakes never block.
func TestEventHubWake(t *testing.T) {
	ctx := context.Background()
	log := &auditLog{}
	log.append()
	s, err := New(Config{Store: log, Publication: PublicationConfig{EventPollInterval: time.Hour}})
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
	if sub.Head != 1 || seen() != 1 {
		t.Fatalf("hub starts at %d (subscription head %d), want the log's head 1", seen(), sub.Head)
	}
	log.append()
	log.append()
	for range 3 {
		h.wake() // never blocks, however many come
	}
	deadline := time.Now().Add(10 * time.Second)
	for seen() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the woken hub has read up to %d, want 3", seen())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
