package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

const auditColumns = `seq, at, actor, action, subject, detail, prev_hash, hash`

func scanAudit(r pgx.Row) (store.AuditEntry, error) {
	var e store.AuditEntry
	err := r.Scan(&e.Seq, &e.Time, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash)
	e.Time = e.Time.UTC()
	return e, err
}

// AppendAudit implements store.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent) (store.AuditEntry, error) {
	if err := ev.Validate(); err != nil {
		return store.AuditEntry{}, fmt.Errorf("append audit: %w", err)
	}
	var e []store.AuditEntry
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		e, err = s.appendAudit(ctx, tx, ev)
		return err
	})
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("append audit: %w", err)
	}
	return e[0], nil
}

// ListAudit implements store.AuditStore.
func (s *Store) ListAudit(ctx context.Context, after int64, limit int) ([]store.AuditEntry, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`,
		after, store.PageLimit(limit))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEntry, error) { return scanAudit(r) })
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// AuditHead implements store.AuditStore.
func (s *Store) AuditHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	return seq, nil
}

// VerifyChain implements store.AuditStore. It reads the head and the
// entries in one snapshot, streaming the entries.
func (s *Store) VerifyChain(ctx context.Context) (int64, error) {
	var bad int64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var headSeq int64
		var headHash []byte
		if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		var v store.ChainVerifier
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return err
			}
			if bad = v.Next(e); bad != 0 {
				return nil
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		bad = v.Head(headSeq, headHash)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("verify audit chain: %w", err)
	}
	if bad != 0 {
		return bad, fmt.Errorf("%w at entry %d", store.ErrChainBroken, bad)
	}
	return 0, nil
}
