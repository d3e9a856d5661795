// Package sqlite is the embedded SQLite backend of the issuer store, built
// on the pure-Go driver modernc.org/sqlite (no cgo). It is the default
// store: one file, no server.
//
// The database runs in WAL mode with foreign keys on and a busy timeout.
// All writes go through a single connection, each in a BEGIN IMMEDIATE
// transaction, so writers queue in the process instead of failing with
// SQLITE_BUSY; reads use a separate pool and proceed alongside a write.
// One process should own the file; for several issuer processes use the
// PostgreSQL backend.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"elicence/issuer/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// Path is the database file, created if missing.
	Path string
	// StatusListSize is the number of entries of status lists created from
	// now on; 0 means store.MinStatusListSize, smaller values are refused.
	StatusListSize int
	// ReadConns is the number of connections for reads; 0 means 4.
	ReadConns int
	// Now is the clock for times the store records; nil means time.Now.
	Now func() time.Time
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger

	// listSize overrides StatusListSize without the minimum, for tests.
	listSize int
}

// Store is the SQLite store. It implements store.Store.
type Store struct {
	w        *sql.DB // the one writer connection
	r        *sql.DB // readers
	now      func() time.Time
	listSize int

	registryStore
	licenceStore
	walletStore
	logStore
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file, applies pending
// migrations and returns the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	size := cfg.StatusListSize
	switch {
	case cfg.listSize > 0:
		size = cfg.listSize
	case size == 0:
		size = store.MinStatusListSize
	case size < store.MinStatusListSize:
		return nil, fmt.Errorf("open sqlite store: status list size %d is below the minimum %d", size, store.MinStatusListSize)
	}
	if cfg.Path == "" || strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("open sqlite store: invalid path %q", cfg.Path)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	readConns := cfg.ReadConns
	if readConns <= 0 {
		readConns = 4
	}

	w, err := sql.Open("sqlite", dsn(cfg.Path, "_txlock=immediate", "_pragma=journal_mode(WAL)", "_pragma=secure_delete(1)", "_pragma=synchronous(FULL)"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", cfg.Path, err)
	}
	r, err := sql.Open("sqlite", dsn(cfg.Path, "_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	r.SetMaxOpenConns(readConns)
	return (&Store{w: w, r: r, now: now, listSize: size}).wire(), nil
}

// dsn returns the driver's data source name for path with the settings
// every connection gets plus extra.
func dsn(path string, extra ...string) string {
	params := append([]string{
		"_pragma=busy_timeout(10000)",
		"_pragma=foreign_keys(1)",
	}, extra...)
	u := url.URL{Scheme: "file", Path: path}
	return u.String() + "?" + strings.Join(params, "&")
}

func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, files,
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

// Ping checks that both connection pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := errors.Join(s.w.PingContext(ctx), s.r.PingContext(ctx)); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// clock returns the current time as the store records it.
func (s *Store) clock() time.Time { return store.Timestamp(s.now()) }

// write runs fn in a write transaction, committing if it returns nil.
// Write transactions run one at a time.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// read runs fn in a read transaction, so that it sees one snapshot.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mapErr turns constraint violations into the store's sentinel errors,
// keeping the original error in the chain.
func mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", store.ErrDuplicate, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		// The file is locked beyond the busy timeout, or the disk fails.
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// micros maps a time to INTEGER microseconds, the zero time to NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// tm scans INTEGER microseconds (or NULL, as the zero time) into a time.
type tm struct{ t *time.Time }

func (s tm) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		*s.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

// nstr scans TEXT or NULL (as "") into a string.
type nstr struct{ s *string }

func (n nstr) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.s = ""
	case string:
		*n.s = v
	case []byte:
		*n.s = string(v)
	default:
		return fmt.Errorf("scan string: unexpected %T", src)
	}
	return nil
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

// bytesOf returns b, or an empty slice for nil, for NOT NULL BLOB columns.
func bytesOf(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// appendAudit appends entries for events to the chain in tx, as the last
// step of the transaction.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, events ...store.AuditEvent) ([]store.AuditEntry, error) {
	var seq int64
	var hash []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	entries := store.NewAuditEntries(seq, hash, s.clock(), events...)
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Subject, bytesOf(e.Detail), e.PrevHash, e.Hash); err != nil {
			return nil, fmt.Errorf("append audit entry: %w", err)
		}
	}
	last := entries[len(entries)-1]
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, last.Seq, last.Hash); err != nil {
		return nil, fmt.Errorf("move audit head: %w", err)
	}
	return entries, nil
}

// The store's methods are grouped by what they keep, each group a type of
// its own that Store embeds (so that no type carries the whole interface):
// registryStore departments, keys, licence types and tokens (registry.go),
// licenceStore the licences and status lists (licences.go, statuslists.go),
// walletStore wallet links and sessions (wallet.go); Store itself opens,
// migrates, pings and closes, and keeps the audit log every group writes.
// Each group reaches the shared connections and helpers through its pointer
// back to the Store.
type (
	registryStore struct{ *Store }
	licenceStore  struct{ *Store }
	walletStore   struct{ *Store }
)

// wire points the method groups back at s.
func (s *Store) wire() *Store {
	s.registryStore, s.licenceStore, s.walletStore = registryStore{s}, licenceStore{s}, walletStore{s}
	s.logStore = logStore{s}
	return s
}
