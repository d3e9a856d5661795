package store

import "context"

// StatusWatcher is implemented by a store that can say, across processes,
// that status changes were committed, so that an issuer's event stream
// need not wait for its next poll of the audit log (PostgreSQL, by
// LISTEN/NOTIFY). Polling stays the fallback: a watcher may miss a change
// while it reconnects, and then calls changed once it listens again.
type StatusWatcher interface {
	// WatchStatus calls changed after each committed status change by any
	// process sharing the store (several changes may fold into one call),
	// and once whenever it starts or resumes listening. It returns when
	// ctx ends. changed must not block.
	WatchStatus(ctx context.Context, changed func()) error
}
