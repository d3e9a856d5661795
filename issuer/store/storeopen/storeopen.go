// Package storeopen opens the issuer's store named by a flag or an
// environment variable: a PostgreSQL URL or an embedded SQLite file. It is
// the one place that links both database drivers, so that the domain
// (package issuer and its rooms) and the HTTP API link neither; only the
// wiring in cli/ imports it.
package storeopen

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/sqlite"
)

// IsPostgresURL reports whether db names a PostgreSQL database rather than
// an embedded store file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens the store db names: a postgres:// URL, or the path of
// the embedded SQLite file (created if missing). Migrations are applied.
func Open(ctx context.Context, db string, logger *slog.Logger) (store.Store, error) {
	if IsPostgresURL(db) {
		return postgres.Open(ctx, postgres.Config{URL: db, Logger: logger})
	}
	return openEmbedded(ctx, db, logger)
}

// openEmbedded opens the embedded store, creating its directory.
func openEmbedded(ctx context.Context, path string, logger *slog.Logger) (store.Store, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	return sqlite.Open(ctx, sqlite.Config{Path: path, Logger: logger})
}
