// Package postgres is the PostgreSQL backend of the issuer store, built on
// pgx and pgxpool. Several issuer processes may share one database: serials
// and status-list quotas are taken by single atomic statements, slot
// indices are made unique by a primary key, and the audit chain is
// extended under a row lock on its head taken as the last step of each
// transaction (see package store for the design).
//
// Open applies the embedded goose migrations under a PostgreSQL advisory
// lock, so processes starting together migrate once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"elicence/issuer/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// URL is the connection string, e.g.
	// "postgres://issuer@db.example/elicence?sslmode=verify-full". Pool
	// settings such as pool_max_conns may be given in it.
	URL string
	// StatusListSize is the number of entries of status lists created from
	// now on; 0 means store.MinStatusListSize, smaller values are refused.
	StatusListSize int
	// Now is the clock for times the store records; nil means time.Now.
	Now func() time.Time
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger

	// listSize overrides StatusListSize without the minimum, for tests.
	listSize int
}

// Store is the PostgreSQL store. It implements store.Store.
type Store struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	listSize int
	groups   groups     // single issuances being gathered (group.go)
	stats    tableStats // background ANALYZE after bulk writes (stats.go)

	licenceStore
	registryStore
	walletStore
	statusStore
	logStore
}

var _ store.Store = (*Store)(nil)

// Open connects to the database, applies pending migrations and returns the
// store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	size := cfg.StatusListSize
	switch {
	case cfg.listSize > 0:
		size = cfg.listSize
	case size == 0:
		size = store.MinStatusListSize
	case size < store.MinStatusListSize:
		return nil, fmt.Errorf("open postgres store: status list size %d is below the minimum %d", size, store.MinStatusListSize)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	pc.AfterConnect = afterConnect
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return (&Store{pool: pool, now: now, listSize: size}).wire(), nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.stats.wg.Wait()
	s.pool.Close()
	return nil
}

// clock returns the current time as the store records it.
func (s *Store) clock() time.Time { return store.Timestamp(s.now()) }

// querier is what pgx.Tx, *pgxpool.Conn and *pgxpool.Pool have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// beginner is what *pgxpool.Conn and *pgxpool.Pool have in common.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// dbConn is a connection or the pool. Code holding an acquired connection
// must use it for everything, never the pool, or concurrent callers can
// exhaust the pool waiting for each other.
type dbConn interface {
	querier
	beginner
}

// inTx runs fn in a transaction, committing if it returns nil.
func inTx(ctx context.Context, db beginner, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, fn)
}

// mapErr turns constraint violations into the store's sentinel errors,
// keeping the original error in the chain.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		if pe.ConstraintName == "signing_keys_one_active" {
			return fmt.Errorf("%w: another key became active: %w", store.ErrConflict, err)
		}
		return fmt.Errorf("%w: %w", store.ErrDuplicate, err)
	case "23503": // foreign_key_violation: a referenced record is missing
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.Timestamp(t)
}

// timeOf maps NULL to the zero time and others to UTC.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes maps an empty b to NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// bytesOf returns b, or an empty slice for nil, for NOT NULL bytea columns.
func bytesOf(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// appendAudit appends entries for events to the chain in tx. It must be
// the last statement before commit: it locks the chain head until then.
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, events ...store.AuditEvent) ([]store.AuditEntry, error) {
	var seq int64
	var hash []byte
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&seq, &hash); err != nil {
		return nil, fmt.Errorf("lock audit head: %w", err)
	}
	// Read the clock under the lock so times along the chain do not go
	// backwards (within the precision of the processes' clocks).
	entries := store.NewAuditEntries(seq, hash, s.clock(), events...)
	last := entries[len(entries)-1]
	if len(entries) == 1 {
		e := entries[0]
		_, err := tx.Exec(ctx, `
			WITH head AS (UPDATE audit_head SET seq = $1, hash = $8 WHERE id = 1)
			INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.Seq, e.Time, e.Actor, e.Action, e.Subject, bytesOf(e.Detail), e.PrevHash, e.Hash)
		if err != nil {
			return nil, fmt.Errorf("append audit entry: %w", err)
		}
		return entries, nil
	}
	// Binary COPY encoded here (copyBinary), the values pgx would send.
	err := copyBinary(ctx, tx, "COPY audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) FROM STDIN BINARY", len(entries),
		func(b []byte, i int) ([]byte, error) { return appendAuditRow(b, &entries[i]), nil })
	if err != nil {
		return nil, fmt.Errorf("append audit entries: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, last.Seq, last.Hash); err != nil {
		return nil, fmt.Errorf("move audit head: %w", err)
	}
	return entries, nil
}

// The store's methods are grouped by what they keep, each group a type of
// its own that Store embeds (so that no type carries the whole interface):
// licenceStore the licences and their batches (licences.go, group.go),
// registryStore departments, keys, licence types and tokens (departments.go,
// keys.go, types.go, tokens.go), walletStore wallet links and sessions
// (wallet.go), logStore the issuance logs' reads, keys and checkpoints
// (tlog_read.go; appends are in the issuing transactions, tlog.go),
// statusStore the status lists, their statistics and change
// notifications (statuslists.go, stats.go, watch.go); Store itself opens,
// migrates, pings and closes, and keeps the audit log and the durability
// rules every group uses. Each group reaches the shared connection pool and
// helpers through its pointer back to the Store.
type (
	licenceStore  struct{ *Store }
	registryStore struct{ *Store }
	walletStore   struct{ *Store }
	statusStore   struct{ *Store }
)

// wire points the method groups back at s.
func (s *Store) wire() *Store {
	s.licenceStore, s.registryStore, s.walletStore, s.statusStore = licenceStore{s}, registryStore{s}, walletStore{s}, statusStore{s}
	s.logStore = logStore{s}
	return s
}
