package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store/postgres/pgtest"
	"elicence/tlog"
	"elicence/tlog/tlogtest"
)

// logSuiteStore runs the tlog conformance suite's transactions as the
// issuing paths run theirs: a pgx transaction with the store's logTx.
type logSuiteStore struct{ *Store }

func (s logSuiteStore) Update(ctx context.Context, fn func(ctx context.Context, tx tlog.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, &logTx{tx: tx}) })
}

// TestLogConformance runs tlog's storage suite on PostgreSQL: appends read
// back across tile boundaries, rollback, refusal to overwrite, concurrent
// appenders on several connections.
func TestLogConformance(t *testing.T) {
	tlogtest.Run(t, func(t *testing.T) tlogtest.Store {
		return logSuiteStore{openTest(t, pgtest.NewDatabase(t))}
	})
}
