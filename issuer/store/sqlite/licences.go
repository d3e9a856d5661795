package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"elicence/issuer/store"
	"elicence/issuer/store/internal/cursor"
	"elicence/tlog"
)

const licenceColumns = `id, department_code, type_code, serial, version, holder_name, holder_kind, holder_code, fields,
	valid_from, valid_until, issued_at, status, status_list_id, status_index,
	credential, record_digest, supersedes, status_reason, status_changed_at, updated_at, record`

const insertLicence = `INSERT INTO licences (` + licenceColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func licenceRow(l *store.Licence) []any {
	return []any{
		l.ID, l.DepartmentCode, l.TypeCode, l.Serial, l.Version,
		l.HolderName, l.HolderKind, l.HolderCode, bytesOf(l.Fields),
		micros(l.ValidFrom), micros(l.ValidUntil), micros(l.IssuedAt), int(l.Status), l.StatusListID, l.StatusIndex,
		l.Credential, l.RecordDigest, nullString(l.Supersedes), nullString(l.StatusReason), micros(l.StatusChangedAt), micros(l.UpdatedAt),
		bytesOf(l.Record),
	}
}

func scanLicence(r interface{ Scan(...any) error }) (store.Licence, error) {
	var l store.Licence
	var status int
	err := r.Scan(&l.ID, &l.DepartmentCode, &l.TypeCode, &l.Serial, &l.Version,
		&l.HolderName, &l.HolderKind, &l.HolderCode, &l.Fields,
		tm{&l.ValidFrom}, tm{&l.ValidUntil}, tm{&l.IssuedAt}, &status, &l.StatusListID, &l.StatusIndex,
		&l.Credential, &l.RecordDigest, nstr{&l.Supersedes}, nstr{&l.StatusReason}, tm{&l.StatusChangedAt}, tm{&l.UpdatedAt}, &l.Record)
	l.Status = store.Status(status)
	return l, err
}

// prepare normalises a freshly built licence for storage.
func prepare(l *store.Licence, now time.Time) {
	l.ValidFrom, l.ValidUntil, l.IssuedAt = store.Timestamp(l.ValidFrom), store.Timestamp(l.ValidUntil), store.Timestamp(l.IssuedAt)
	l.StatusReason, l.StatusChangedAt = "", time.Time{}
	l.UpdatedAt = now
	l.Fields = bytesOf(l.Fields)
}

func licenceOf(ctx context.Context, q queryer, dept, id string) (store.Licence, error) {
	l, err := scanLicence(q.QueryRowContext(ctx, `SELECT `+licenceColumns+` FROM licences WHERE id = ? AND department_code = ?`, id, dept))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Licence{}, fmt.Errorf("licence %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Licence{}, fmt.Errorf("licence %s: %w", id, err)
	}
	return l, nil
}

// replay looks up an idempotency key. It reports found=false if the key is
// new, and otherwise returns the licence it issued or
// ErrIdempotencyMismatch.
func replay(ctx context.Context, tx *sql.Tx, dept, key string, hash []byte) (store.Licence, bool, error) {
	if key == "" {
		return store.Licence{}, false, nil
	}
	var stored []byte
	var id string
	err := tx.QueryRowContext(ctx, `SELECT request_hash, licence_id FROM idempotency_keys WHERE department_code = ? AND key = ?`,
		dept, key).Scan(&stored, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Licence{}, false, nil
	}
	if err != nil {
		return store.Licence{}, false, fmt.Errorf("idempotency key: %w", err)
	}
	if !bytes.Equal(stored, hash) {
		return store.Licence{}, true, store.ErrIdempotencyMismatch
	}
	l, err := licenceOf(ctx, tx, dept, id)
	return l, true, err
}

func (s *licenceStore) recordIdempotency(ctx context.Context, tx *sql.Tx, dept, key string, hash []byte, id string) error {
	if key == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (department_code, key, request_hash, licence_id, created_at)
		VALUES (?, ?, ?, ?, ?)`, dept, key, hash, id, micros(s.clock()))
	return mapErr(err)
}

// allocSerials takes a block of n serials, returning the first, or
// ErrNotAuthorised if the department may not issue the type.
func allocSerials(ctx context.Context, tx *sql.Tx, dept, typeCode string, n int) (int64, error) {
	var first int64
	err := tx.QueryRowContext(ctx, `INSERT INTO serial_counters (department_code, type_code, next_serial)
		SELECT department_code, type_code, 1 + ? FROM type_authorisations WHERE department_code = ? AND type_code = ?
		ON CONFLICT (department_code, type_code) DO UPDATE SET next_serial = serial_counters.next_serial + ?
		RETURNING next_serial - ?`, n, dept, typeCode, n, n).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s for %s: %w", dept, typeCode, store.ErrNotAuthorised)
	}
	if err != nil {
		return 0, fmt.Errorf("allocate serials: %w", err)
	}
	return first, nil
}

// IssueLicence implements store.LicenceStore.
func (s *licenceStore) IssueLicence(ctx context.Context, p store.IssueParams, build func(store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	if err := p.Validate(); err != nil {
		return store.Licence{}, fmt.Errorf("issue licence: %w", err)
	}
	var out store.Licence
	err := s.write(ctx, func(tx *sql.Tx) error {
		if l, ok, err := replay(ctx, tx, p.DepartmentCode, p.IdempotencyKey, p.RequestHash); ok || err != nil {
			out = l
			return err
		}
		if err := checkKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		serial, err := allocSerials(ctx, tx, p.DepartmentCode, p.TypeCode, 1)
		if err != nil {
			return err
		}
		sl, err := s.allocSlots(ctx, tx, p.DepartmentCode, 1)
		if err != nil {
			return err
		}
		a := store.Allocation{Serial: serial, Version: 1, StatusListID: sl[0].list, StatusIndex: sl[0].index}
		l, ev, err := build(a)
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		if err := errors.Join(l.CheckAllocation(p.DepartmentCode, p.TypeCode, "", a), ev.Validate()); err != nil {
			return err
		}
		prepare(&l, s.clock())
		if _, err := tx.ExecContext(ctx, insertLicence, licenceRow(&l)...); err != nil {
			return mapErr(err)
		}
		if err := s.recordIdempotency(ctx, tx, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, l.ID); err != nil {
			return err
		}
		if _, err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		if err := appendLog(ctx, tx, p.LogOrigin, tlog.HashLeaves(store.LicenceLeaf(&l)), []store.LogRef{{LicenceID: l.ID}}); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return store.Licence{}, fmt.Errorf("issue licence: %w", err)
	}
	return out, nil
}

// IssueBatch implements store.LicenceStore.
func (s *licenceStore) IssueBatch(ctx context.Context, p store.IssueParams, n int, build func(int, store.Allocation) (store.Licence, store.AuditEvent, error)) ([]store.Licence, error) {
	if err := p.ValidateBatch(n); err != nil {
		return nil, fmt.Errorf("issue batch: %w", err)
	}
	out := make([]store.Licence, n)
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := checkKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		todo := make([]int, 0, n)
		for i := range n {
			if len(p.RowKeys) > 0 {
				l, ok, err := replay(ctx, tx, p.DepartmentCode, p.RowKeys[i], p.RowHashes[i])
				if err != nil {
					return fmt.Errorf("row %d: %w", i, err)
				}
				if ok {
					out[i] = l
					continue
				}
			}
			todo = append(todo, i)
		}
		m := len(todo)
		if m == 0 {
			return nil
		}
		first, err := allocSerials(ctx, tx, p.DepartmentCode, p.TypeCode, m)
		if err != nil {
			return err
		}
		sl, err := s.allocSlots(ctx, tx, p.DepartmentCode, m)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, insertLicence)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := s.clock()
		events := make([]store.AuditEvent, m)
		for j, i := range todo {
			a := store.Allocation{Serial: first + int64(j), Version: 1, StatusListID: sl[j].list, StatusIndex: sl[j].index}
			l, ev, err := build(i, a)
			if err != nil {
				return fmt.Errorf("build %d: %w", i, err)
			}
			if err := errors.Join(l.CheckAllocation(p.DepartmentCode, p.TypeCode, "", a), ev.Validate()); err != nil {
				return fmt.Errorf("licence %d: %w", i, err)
			}
			prepare(&l, now)
			if _, err := stmt.ExecContext(ctx, licenceRow(&l)...); err != nil {
				return fmt.Errorf("licence %d: %w", i, mapErr(err))
			}
			if len(p.RowKeys) > 0 {
				if err := s.recordIdempotency(ctx, tx, p.DepartmentCode, p.RowKeys[i], p.RowHashes[i], l.ID); err != nil {
					return fmt.Errorf("licence %d: %w", i, err)
				}
			}
			out[i], events[j] = l, ev
		}
		if _, err = s.appendAudit(ctx, tx, events...); err != nil {
			return err
		}
		// One append for the whole batch.
		leaves, refs := store.BatchLeaves(out, todo)
		return appendLog(ctx, tx, p.LogOrigin, leaves, refs)
	})
	if err != nil {
		return nil, fmt.Errorf("issue batch of %d: %w", n, err)
	}
	return out, nil
}

// ReissueLicence implements store.LicenceStore.
func (s *licenceStore) ReissueLicence(ctx context.Context, p store.ReissueParams, build func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	if err := p.Validate(); err != nil {
		return store.Licence{}, fmt.Errorf("re-issue licence: %w", err)
	}
	var out store.Licence
	err := s.write(ctx, func(tx *sql.Tx) error {
		if l, ok, err := replay(ctx, tx, p.DepartmentCode, p.IdempotencyKey, p.RequestHash); ok || err != nil {
			out = l
			return err
		}
		old, err := licenceOf(ctx, tx, p.DepartmentCode, p.LicenceID)
		if err != nil {
			return err
		}
		if err := checkKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		if old.Status != store.StatusValid {
			return fmt.Errorf("%w: licence is %s", store.ErrInvalidTransition, old.Status)
		}
		if ok, err := isAuthorised(ctx, tx, old.DepartmentCode, old.TypeCode); err != nil || !ok {
			return errors.Join(err, fmt.Errorf("%s for %s: %w", old.DepartmentCode, old.TypeCode, store.ErrNotAuthorised))
		}
		sl, err := s.allocSlots(ctx, tx, p.DepartmentCode, 1)
		if err != nil {
			return err
		}
		a := store.Allocation{Serial: old.Serial, Version: old.Version + 1, StatusListID: sl[0].list, StatusIndex: sl[0].index}
		l, ev, err := build(old, a)
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		if err := errors.Join(l.CheckAllocation(old.DepartmentCode, old.TypeCode, old.ID, a), ev.Validate()); err != nil {
			return err
		}
		now := s.clock()
		prepare(&l, now)
		if _, err := tx.ExecContext(ctx, insertLicence, licenceRow(&l)...); err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE licences SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ?
			WHERE id = ?`, int(store.StatusRevoked), store.ReasonSuperseded, micros(now), micros(now), old.ID); err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx, old.StatusListID); err != nil {
			return err
		}
		if err := s.recordIdempotency(ctx, tx, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, l.ID); err != nil {
			return err
		}
		if _, err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		if err := appendLog(ctx, tx, p.LogOrigin, tlog.HashLeaves(store.LicenceLeaf(&l)), []store.LogRef{{LicenceID: l.ID}}); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return store.Licence{}, fmt.Errorf("re-issue licence %s: %w", p.LicenceID, err)
	}
	return out, nil
}

// checkKey returns ErrKeyNotActive unless id (when not empty) is the
// department's active key. Write transactions run one at a time, so the
// answer holds until the commit.
func checkKey(ctx context.Context, tx *sql.Tx, dept, id string) error {
	if id == "" {
		return nil
	}
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM signing_keys WHERE department_code = ? AND id = ?`, dept, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != string(store.KeyActive)) {
		return fmt.Errorf("key %s/%s: %w", dept, id, store.ErrKeyNotActive)
	}
	return err
}

// ReissueBatch implements store.LicenceStore.
func (s *licenceStore) ReissueBatch(ctx context.Context, p store.ReissueBatchParams, build func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error)) ([]store.Reissued, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("re-issue batch: %w", err)
	}
	var out []store.Reissued
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = make([]store.Reissued, len(p.LicenceIDs))
		if err := checkKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		auth := map[string]bool{}
		var todo []int
		for i, id := range p.LicenceIDs {
			old, err := licenceOf(ctx, tx, p.DepartmentCode, id)
			if errors.Is(err, store.ErrNotFound) {
				out[i] = store.Reissued{Old: store.Licence{ID: id}, Skipped: store.SkipNotFound}
				continue
			}
			if err != nil {
				return err
			}
			out[i].Old = old
			if old.Status == store.StatusRevoked {
				out[i].Skipped = store.SkipNotCurrent
				continue
			}
			ok, seen := auth[old.TypeCode]
			if !seen {
				if ok, err = isAuthorised(ctx, tx, old.DepartmentCode, old.TypeCode); err != nil {
					return err
				}
				auth[old.TypeCode] = ok
			}
			if !ok {
				out[i].Skipped = store.SkipNotAuthorised
				continue
			}
			todo = append(todo, i)
		}
		if len(todo) == 0 {
			return nil
		}
		sl, err := s.allocSlots(ctx, tx, p.DepartmentCode, len(todo))
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, insertLicence)
		if err != nil {
			return err
		}
		defer stmt.Close()
		supersede, err := tx.PrepareContext(ctx, `UPDATE licences SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ?
			WHERE id = ?`)
		if err != nil {
			return err
		}
		defer supersede.Close()
		now := s.clock()
		lists := map[string]bool{}
		events := make([]store.AuditEvent, 0, len(todo))
		news := make([]store.Licence, 0, len(todo))
		for j, i := range todo {
			old := out[i].Old
			a := store.Allocation{Serial: old.Serial, Version: old.Version + 1, StatusListID: sl[j].list, StatusIndex: sl[j].index}
			l, ev, err := build(old, a)
			if err != nil {
				return fmt.Errorf("build %s: %w", old.ID, err)
			}
			if err := errors.Join(l.CheckAllocation(old.DepartmentCode, old.TypeCode, old.ID, a), ev.Validate()); err != nil {
				return err
			}
			prepare(&l, now)
			carryStatus(&l, old, now)
			if _, err := stmt.ExecContext(ctx, licenceRow(&l)...); err != nil {
				return fmt.Errorf("licence %s: %w", l.ID, mapErr(err))
			}
			if _, err := supersede.ExecContext(ctx, int(store.StatusRevoked), store.ReasonSuperseded, micros(now), micros(now), old.ID); err != nil {
				return err
			}
			lists[old.StatusListID] = true
			if l.Status != store.StatusValid {
				lists[l.StatusListID] = true
			}
			out[i].New = l
			events = append(events, ev)
			news = append(news, l)
		}
		// In ID order, so that concurrent batches take the list rows in
		// the same order and cannot deadlock.
		for _, id := range slices.Sorted(maps.Keys(lists)) {
			if err := s.bumpRevision(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err = s.appendAudit(ctx, tx, events...); err != nil {
			return err
		}
		leaves, refs := store.LicenceLeaves(news)
		return appendLog(ctx, tx, p.LogOrigin, leaves, refs)
	})
	if err != nil {
		return nil, fmt.Errorf("re-issue batch of %d: %w", len(p.LicenceIDs), err)
	}
	return out, nil
}

// carryStatus gives the new version l of old the status old has: a
// suspended licence stays suspended, for the same reason, when re-issued.
func carryStatus(l *store.Licence, old store.Licence, now time.Time) {
	if old.Status == store.StatusSuspended {
		l.Status, l.StatusReason, l.StatusChangedAt = store.StatusSuspended, old.StatusReason, now
	}
}

// UpdateStatus implements store.LicenceStore.
func (s *licenceStore) UpdateStatus(ctx context.Context, c store.StatusChange, audit store.AuditEvent) (store.Licence, error) {
	if err := errors.Join(c.Validate(), audit.Validate()); err != nil {
		return store.Licence{}, fmt.Errorf("update status: %w", err)
	}
	reason := c.Reason
	if c.Status == store.StatusValid {
		reason = ""
	}
	var out store.Licence
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := licenceOf(ctx, tx, c.DepartmentCode, c.LicenceID)
		if err != nil {
			return err
		}
		if err := store.ValidateTransition(old.Status, c.Status); err != nil {
			return err
		}
		now := s.clock()
		out, err = scanLicence(tx.QueryRowContext(ctx, `UPDATE licences SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ?
			WHERE id = ? RETURNING `+licenceColumns, int(c.Status), nullString(reason), micros(now), micros(now), old.ID))
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
		return store.Licence{}, fmt.Errorf("update status of %s to %s: %w", c.LicenceID, c.Status, err)
	}
	return out, nil
}

// Licence implements store.LicenceStore.
func (s *licenceStore) Licence(ctx context.Context, dept, id string) (store.Licence, error) {
	return licenceOf(ctx, s.r, dept, id)
}

// ListLicences implements store.LicenceStore.
func (s *licenceStore) ListLicences(ctx context.Context, q store.LicenceQuery) ([]store.Licence, string, error) {
	limit := store.PageLimit(q.Limit)
	where := []string{"department_code = ?"}
	args := []any{q.DepartmentCode}
	if q.TypeCode != "" {
		where, args = append(where, "type_code = ?"), append(args, q.TypeCode)
	}
	if q.HolderCode != "" {
		where, args = append(where, "holder_code = ?"), append(args, q.HolderCode)
	}
	if q.Status != nil {
		where, args = append(where, "status = ?"), append(args, int(*q.Status))
	}
	if q.Cursor != "" {
		at, id, err := cursor.Decode(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list licences: %w", err)
		}
		where, args = append(where, "(issued_at, id) < (?, ?)"), append(args, at.UnixMicro(), id)
	}
	args = append(args, limit+1)
	page, err := collect(ctx, s.r, scanLicence, `SELECT `+licenceColumns+` FROM licences WHERE `+strings.Join(where, " AND ")+
		` ORDER BY issued_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list licences: %w", err)
	}
	page, next := cursor.Trim(page, limit)
	return page, next, nil
}
