package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"elicence/issuer/store"
)

const auditColumns = `seq, at, actor, action, subject, detail, prev_hash, hash`

func scanAudit(r interface{ Scan(...any) error }) (store.AuditEntry, error) {
	var e store.AuditEntry
	err := r.Scan(&e.Seq, tm{&e.Time}, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash)
	return e, err
}

// AppendAudit implements store.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent) (store.AuditEntry, error) {
	if err := ev.Validate(); err != nil {
		return store.AuditEntry{}, fmt.Errorf("append audit: %w", err)
	}
	var e []store.AuditEntry
	err := s.write(ctx, func(tx *sql.Tx) error {
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
	out, err := collect(ctx, s.r, scanAudit, `SELECT `+auditColumns+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`,
		after, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// AuditHead implements store.AuditStore.
func (s *Store) AuditHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	return seq, nil
}

// VerifyChain implements store.AuditStore. It reads the head and the
// entries in one snapshot, streaming the entries.
func (s *Store) VerifyChain(ctx context.Context) (int64, error) {
	var bad int64
	err := s.read(ctx, func(tx *sql.Tx) error {
		var headSeq int64
		var headHash []byte
		if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var v store.ChainVerifier
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
