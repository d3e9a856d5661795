package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"elicence/tlog"
	"elicence/tlog/tlogtest"
)

// logSuiteStore runs the tlog conformance suite's transactions as the
// issuing paths run theirs: a write transaction with the store's logTx.
type logSuiteStore struct{ *Store }

func (s logSuiteStore) Update(ctx context.Context, fn func(ctx context.Context, tx tlog.Tx) error) error {
	return s.write(ctx, func(tx *sql.Tx) error { return fn(ctx, &logTx{tx: tx}) })
}

// TestLogConformance runs tlog's storage suite on SQLite.
func TestLogConformance(t *testing.T) {
	tlogtest.Run(t, func(t *testing.T) tlogtest.Store {
		return logSuiteStore{openTest(t, filepath.Join(t.TempDir(), "issuer.db"))}
	})
}
