package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"elicence/issuer/store"
	"elicence/tlog"
)

const documentColumns = `id, department_code, kind, title, number, file_name, key_id, signed_at, sm3, signed_sm3, size, pages,
	status_list_id, status_index, receipt, signature, status, status_reason, status_changed_at, updated_at`

func documentRow(d *store.Document) []any {
	return []any{
		d.ID, d.DepartmentCode, d.Kind, d.Title, d.Number, d.FileName, d.KeyID, micros(d.SignedAt), d.SM3, d.SignedSM3, d.Size, d.Pages,
		d.StatusListID, d.StatusIndex, d.Receipt, d.Signature, int(d.Status), nullString(d.StatusReason), micros(d.StatusChangedAt), micros(d.UpdatedAt),
	}
}

func scanDocument(r interface{ Scan(...any) error }) (store.Document, error) {
	var d store.Document
	var status int
	err := r.Scan(&d.ID, &d.DepartmentCode, &d.Kind, &d.Title, &d.Number, &d.FileName, &d.KeyID, tm{&d.SignedAt}, &d.SM3, &d.SignedSM3, &d.Size, &d.Pages,
		&d.StatusListID, &d.StatusIndex, &d.Receipt, &d.Signature, &status, nstr{&d.StatusReason}, tm{&d.StatusChangedAt}, tm{&d.UpdatedAt})
	d.Status = store.Status(status)
	return d, err
}

func documentOf(ctx context.Context, q queryer, dept, id string) (store.Document, error) {
	d, err := scanDocument(q.QueryRowContext(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = ? AND department_code = ?`, id, dept))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Document{}, fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("document %s: %w", id, err)
	}
	return d, nil
}

// SignDocument implements store.DocumentStore.
func (s *Store) SignDocument(ctx context.Context, p store.DocumentParams, build func(store.DocumentSlot) (store.Document, store.AuditEvent, error)) (store.Document, error) {
	if err := p.Validate(); err != nil {
		return store.Document{}, fmt.Errorf("sign document: %w", err)
	}
	var out store.Document
	err := s.write(ctx, func(tx *sql.Tx) error {
		if p.IdempotencyKey != "" {
			var stored []byte
			var id string
			err := tx.QueryRowContext(ctx, `SELECT request_hash, document_id FROM document_idempotency_keys WHERE department_code = ? AND key = ?`,
				p.DepartmentCode, p.IdempotencyKey).Scan(&stored, &id)
			switch {
			case err == nil && !bytes.Equal(stored, p.RequestHash):
				return store.ErrIdempotencyMismatch
			case err == nil:
				out, err = documentOf(ctx, tx, p.DepartmentCode, id)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("idempotency key: %w", err)
			}
		}
		if err := checkKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		sl, err := s.allocSlots(ctx, tx, p.DepartmentCode, 1)
		if err != nil {
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO documents (`+documentColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, documentRow(&d)...); err != nil {
			return mapErr(err)
		}
		if p.IdempotencyKey != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO document_idempotency_keys (department_code, key, request_hash, document_id, created_at)
				VALUES (?, ?, ?, ?, ?)`, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, d.ID, micros(s.clock())); err != nil {
				return mapErr(err)
			}
		}
		if _, err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		if err := appendLog(ctx, tx, p.LogOrigin, tlog.HashLeaves(store.DocumentLeaf(&d)), []store.LogRef{{DocumentID: d.ID}}); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return store.Document{}, fmt.Errorf("sign document: %w", err)
	}
	return out, nil
}

// Document implements store.DocumentStore.
func (s *Store) Document(ctx context.Context, dept, id string) (store.Document, error) {
	return documentOf(ctx, s.r, dept, id)
}

// RescindDocument implements store.DocumentStore.
func (s *Store) RescindDocument(ctx context.Context, dept, id, reason string, audit store.AuditEvent) (store.Document, error) {
	if err := store.ValidateRescind(id, reason, audit); err != nil {
		return store.Document{}, fmt.Errorf("rescind document: %w", err)
	}
	var out store.Document
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := documentOf(ctx, tx, dept, id)
		if err != nil {
			return err
		}
		if old.Status != store.StatusValid {
			return fmt.Errorf("%w: document %s is already rescinded", store.ErrInvalidTransition, id)
		}
		now := s.clock()
		out, err = scanDocument(tx.QueryRowContext(ctx, `UPDATE documents SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ?
			WHERE id = ? RETURNING `+documentColumns, int(store.StatusRevoked), reason, micros(now), micros(now), old.ID))
		if err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx, old.StatusListID); err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM departments WHERE code = ?`, dept).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		q := `DELETE FROM document_signers WHERE department_code = ?`
		if allowed {
			q = `INSERT INTO document_signers (department_code) VALUES (?) ON CONFLICT DO NOTHING`
		}
		if _, err := tx.ExecContext(ctx, q, dept); err != nil {
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
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM document_signers WHERE department_code = ?`, dept).Scan(&n); err != nil {
		return false, fmt.Errorf("document signer %s: %w", dept, err)
	}
	return n > 0, nil
}
