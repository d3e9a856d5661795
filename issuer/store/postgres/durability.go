package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Hot rows and commit latency.
//
// Every issuance and status change updates rows that all of them share:
// the serial counter of its (department, type), the current status list
// (its allocation count or revision) and the audit chain head. A row lock
// is held until its transaction's commit, and a synchronous commit waits
// for the WAL to reach the disk, so with synchronous commits those rows
// serialise one disk flush per change: a few hundred changes a second at
// most, however many clients and processes there are.
//
// The issuance paths therefore commit with synchronous_commit off, which
// releases the locks as soon as the commit record is written to the WAL
// buffers, and then wait for durability with [Store.flush] before they
// return: a new transaction with an xid that commits synchronously, which
// flushes the WAL up to itself and so every earlier commit, its own and
// those of other sessions. Concurrent waits share one flush (PostgreSQL's
// group commit). A caller still learns of success only once its change is
// on disk; a crash before the flush loses only changes nobody was told
// about. The separate allocation commits (serials, status-list quota) need
// no flush of their own: the WAL is linear, so the flush of the issuance
// that uses an allocation makes the allocation durable too, and an
// allocation lost in a crash was used by nothing durable.
//
// Single issuances without an idempotency key go further: concurrent ones
// are written together, one transaction and one flush per group (see
// group.go).

// inAsyncTx is inTx with an asynchronous commit; the caller must flush before reporting success. The
// setting is sent with BEGIN, in the same round trip.
func inAsyncTx(ctx context.Context, db interface {
	BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
}, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db, pgx.TxOptions{BeginQuery: `BEGIN; SET LOCAL synchronous_commit TO off`}, fn)
}

// autonomous runs the statements queue queues in a transaction of their
// own, committed asynchronously, in one round trip.
func autonomous(ctx context.Context, db batcher, queue func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	queue(b)
	b.Queue(`COMMIT`)
	return db.SendBatch(ctx, b).Close()
}

// autonomousRow is autonomous for one statement whose single result row
// scan reads.
func autonomousRow(ctx context.Context, db batcher, scan func(pgx.Row) error, sql string, args ...any) error {
	var scanErr error
	err := autonomous(ctx, db, func(b *pgx.Batch) {
		b.Queue(sql, args...).QueryRow(func(r pgx.Row) error {
			scanErr = scan(r)
			return nil
		})
	})
	if err != nil {
		return err
	}
	return scanErr
}

// batcher is what *pgxpool.Conn and *pgxpool.Pool have in common for
// pipelined statements.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// batchConn is a connection or the pool that can also pipeline.
type batchConn interface {
	dbConn
	batcher
}

// flush waits until every transaction committed so far is on disk.
func (s *Store) flush(ctx context.Context, db querier) error {
	if _, err := db.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		return fmt.Errorf("flush write-ahead log: %w", err)
	}
	return nil
}
