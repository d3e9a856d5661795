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
// The issuance and status-change paths therefore commit with
// synchronous_commit off, which releases the locks as soon as the commit
// record is in the WAL buffers, and then wait for durability with
// [Store.flush] before they return. The flush is a transaction of its own
// that writes a WAL record (a transactional logical-decoding message, which
// any role may emit and which needs no particular wal_level) and commits
// synchronously: PostgreSQL then flushes the WAL up to that commit record,
// and so every earlier commit, its own and those of other sessions, before
// it answers. Concurrent flushes share one disk write (group commit). A
// caller still learns of success only once its change is on disk; a crash
// before the flush loses only changes nobody was told about.
//
// A transaction that is given an xid but writes no WAL of its own (such as
// SELECT pg_current_xact_id(), the flush this replaced) commits
// asynchronously whatever synchronous_commit says: PostgreSQL skips the
// wait when a transaction wrote nothing but its commit record. That flush
// waited for nothing, and answered changes were lost when the server
// stopped with -m immediate; TestFlushSurvivesImmediateStop shows the
// difference on a cluster whose WAL writer sleeps for seconds.
//
// Every connection makes sure synchronous_commit is not off for its own
// transactions (see afterConnect): the flush, and the paths that commit
// synchronously, rely on it. A server configured with "local",
// "remote_write" or "remote_apply" keeps that level.
//
// The separate allocation commits (serials, status-list quota) need no
// flush of their own: the WAL is linear, so the flush of the issuance
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

// flushWAL is the flush statement: an implicit transaction with an xid and
// a WAL record of its own, so that its commit waits for the disk.
const flushWAL = `SELECT pg_logical_emit_message(true, 'elicence.flush', '')`

// flush waits until every transaction committed so far is on disk.
func (s *Store) flush(ctx context.Context, db querier) error {
	if _, err := db.Exec(ctx, flushWAL); err != nil {
		return fmt.Errorf("flush write-ahead log: %w", err)
	}
	return nil
}

// afterConnect prepares a new connection: synchronous_commit is turned on
// if the server or the connection string turned it off, and kept
// otherwise.
func afterConnect(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `SELECT set_config('synchronous_commit', 'on', false)
		WHERE current_setting('synchronous_commit') = 'off'`)
	if err != nil {
		return fmt.Errorf("set synchronous_commit: %w", err)
	}
	return nil
}
