package issuer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
)

// IsPostgresURL reports whether db names a PostgreSQL database rather than
// an embedded store file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// OpenStore opens the store db names: a postgres:// URL, or the path of
// the embedded SQLite file (created if missing). Migrations are applied.
func OpenStore(ctx context.Context, db string, logger *slog.Logger) (store.Store, error) {
	if IsPostgresURL(db) {
		return postgres.Open(ctx, postgres.Config{URL: db, Logger: logger})
	}
	return openEmbedded(ctx, db, logger)
}

// openEmbedded opens the embedded store.
func openEmbedded(ctx context.Context, path string, logger *slog.Logger) (store.Store, error) {
	return nil, fmt.Errorf("open store %s: the embedded store is not available yet", path)
}
