package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
	"elicence/tlog"
)

const documentColumns = `id, department_code, kind, title, number, file_name, key_id, signed_at, sm3, signed_sm3, size, pages,
	status_list_id, status_index, receipt, signature, status, status_reason, status_changed_at, updated_at`

func scanDocument(r pgx.Row) (store.Document, error) {
	var d store.Document
	var status int16
	var reason *string
	var changed *time.Time
	err := r.Scan(&d.ID, &d.DepartmentCode, &d.Kind, &d.Title, &d.Number, &d.FileName, &d.KeyID, &d.SignedAt, &d.SM3, &d.SignedSM3, &d.Size, &d.Pages,
		&d.StatusListID, &d.StatusIndex, &d.Receipt, &d.Signature, &status, &reason, &changed, &d.UpdatedAt)
	d.Status = store.Status(status)
	d.SignedAt, d.UpdatedAt, d.StatusChangedAt = d.SignedAt.UTC(), d.UpdatedAt.UTC(), timeOf(changed)
	if reason != nil {
		d.StatusReason = *reason
	}
	return d, err
}

func documentOf(ctx context.Context, q querier, dept, id string, lock string) (store.Document, error) {
	d, err := scanDocument(q.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1 AND department_code = $2`+lock, id, dept))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Document{}, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("document %s: %w", id, err)
	}
	return d, nil
}

// replayDocument looks up a document idempotency key: found=false if it
// is new, else the document recorded with it or ErrIdempotencyMismatch.
func replayDocument(ctx context.Context, q querier, p store.DocumentParams) (store.Document, bool, error) {
	if p.IdempotencyKey == "" {
		return store.Document{}, false, nil
	}
	var stored []byte
	var id string
	err := q.QueryRow(ctx, `SELECT request_hash, document_id FROM document_idempotency_keys WHERE department_code = $1 AND key = $2`,
		p.DepartmentCode, p.IdempotencyKey).Scan(&stored, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Document{}, false, nil
	}
	if err != nil {
		return store.Document{}, false, fmt.Errorf("idempotency key: %w", err)
	}
	if !bytes.Equal(stored, p.RequestHash) {
		return store.Document{}, true, store.ErrIdempotencyMismatch
	}
	d, err := documentOf(ctx, q, p.DepartmentCode, id, "")
	return d, true, err
}

// SignDocument implements store.DocumentStore. The slot is reserved and
// taken as for a licence (statements committed on their own); the
// document, its key and its audit entry in one transaction, flushed to
// disk before it returns.
func (s *Store) SignDocument(ctx context.Context, p store.DocumentParams, build func(store.DocumentSlot) (store.Document, store.AuditEvent, error)) (store.Document, error) {
	d, err := s.signDocument(ctx, p, build)
	if err != nil {
		return store.Document{}, fmt.Errorf("sign document: %w", err)
	}
	return d, nil
}

func (s *Store) signDocument(ctx context.Context, p store.DocumentParams, build func(store.DocumentSlot) (store.Document, store.AuditEvent, error)) (store.Document, error) {
	if err := p.Validate(); err != nil {
		return store.Document{}, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.Document{}, err
	}
	defer conn.Release()
	if d, ok, err := replayDocument(ctx, conn, p); ok || err != nil {
		return d, err
	}
	quotas, err := s.reserveQuota(ctx, conn, p.DepartmentCode, 1)
	if err != nil {
		return store.Document{}, err
	}
	sl, err := takeSlots(ctx, conn, quotas)
	if err != nil {
		return store.Document{}, err
	}
	var out store.Document
	err = inAsyncTx(ctx, conn, func(tx pgx.Tx) error {
		if err := holdKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		slot := store.DocumentSlot{StatusListID: sl[0].list, StatusIndex: sl[0].index}
		d, ev, err := build(slot)
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		if err := errors.Join(d.CheckSlot(p, slot), ev.Validate()); err != nil {
			return err
		}
		store.PrepareDocument(&d, s.clock())
		if _, err := tx.Exec(ctx, `INSERT INTO documents (`+documentColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			d.ID, d.DepartmentCode, d.Kind, d.Title, d.Number, d.FileName, d.KeyID, d.SignedAt, d.SM3, d.SignedSM3, d.Size, d.Pages,
			d.StatusListID, d.StatusIndex, d.Receipt, d.Signature, int16(d.Status), nil, nil, d.UpdatedAt); err != nil {
			return mapErr(err)
		}
		if p.IdempotencyKey != "" {
			tag, err := tx.Exec(ctx, `INSERT INTO document_idempotency_keys (department_code, key, request_hash, document_id, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, d.ID, s.clock())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errIdempotencyRace
			}
		}
		if _, err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		if err := appendLog(ctx, tx, p.LogOrigin, tlog.HashLeaves(store.DocumentLeaf(&d)), []store.LogRef{{DocumentID: d.ID}}, nil); err != nil {
			return err
		}
		out = d
		return nil
	})
	if errors.Is(err, errIdempotencyRace) {
		d, _, err := replayDocument(ctx, conn, p)
		return d, err
	}
	if err != nil {
		return store.Document{}, err
	}
	return out, s.flush(ctx, conn)
}

// Document implements store.DocumentStore.
func (s *Store) Document(ctx context.Context, dept, id string) (store.Document, error) {
	return documentOf(ctx, s.pool, dept, id, "")
}

// RescindDocument implements store.DocumentStore.
func (s *Store) RescindDocument(ctx context.Context, dept, id, reason string, audit store.AuditEvent) (store.Document, error) {
	if err := store.ValidateRescind(id, reason, audit); err != nil {
		return store.Document{}, fmt.Errorf("rescind document: %w", err)
	}
	var out store.Document
	err := s.changeStatus(ctx, audit, func(tx pgx.Tx) (string, error) {
		old, err := documentOf(ctx, tx, dept, id, " FOR UPDATE")
		if err != nil {
			return "", err
		}
		if old.Status != store.StatusValid {
			return "", fmt.Errorf("%w: document %s is already rescinded", store.ErrInvalidTransition, id)
		}
		now := s.clock()
		out, err = scanDocument(tx.QueryRow(ctx, `UPDATE documents SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4
			WHERE id = $1 RETURNING `+documentColumns, old.ID, int16(store.StatusRevoked), reason, now))
		return old.StatusListID, err
	})
	if err != nil {
		return store.Document{}, fmt.Errorf("rescind document %s: %w", id, err)
	}
	return out, nil
}

// SetDocumentSigner implements store.DocumentStore.
func (s *Store) SetDocumentSigner(ctx context.Context, dept string, allowed bool, audit store.AuditEvent) error {
	if err := audit.Validate(); err != nil {
		return fmt.Errorf("set document signer: %w", err)
	}
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM departments WHERE code = $1`, dept).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		q := `DELETE FROM document_signers WHERE department_code = $1`
		if allowed {
			q = `INSERT INTO document_signers (department_code) VALUES ($1) ON CONFLICT DO NOTHING`
		}
		if _, err := tx.Exec(ctx, q, dept); err != nil {
			return err
		}
		_, err := s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return fmt.Errorf("set document signer %s: %w", dept, err)
	}
	return nil
}

// IsDocumentSigner implements store.DocumentStore.
func (s *Store) IsDocumentSigner(ctx context.Context, dept string) (bool, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM document_signers WHERE department_code = $1`, dept).Scan(&n); err != nil {
		return false, fmt.Errorf("document signer %s: %w", dept, err)
	}
	return n > 0, nil
}
