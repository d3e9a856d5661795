package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

// statusChannel is the LISTEN/NOTIFY channel of committed status changes:
// every transaction that changes a status list's revision notifies it
// (bumpRevision).
const statusChannel = "elicence_status"

// watchRetry is how long WatchStatus waits before listening again after
// its connection failed.
const watchRetry = time.Second

var _ store.StatusWatcher = (*Store)(nil)

// WatchStatus implements store.StatusWatcher with LISTEN on a connection
// of its own (outside the pool, so that it never holds a slot the
// requests need). When the connection fails it connects again after
// watchRetry, and calls changed once it listens, since notifications sent
// meanwhile are lost.
func (s *statusStore) WatchStatus(ctx context.Context, changed func()) error {
	for {
		s.listen(ctx, changed)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(watchRetry):
		}
	}
}

// listen listens until its connection fails or ctx ends.
func (s *statusStore) listen(ctx context.Context, changed func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+statusChannel); err != nil {
		return err
	}
	changed()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		changed()
	}
}
