package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
	"elicence/issuer/store/internal/cursor"
	"elicence/tlog"
)

var licenceColumnList = []string{
	"id", "department_code", "type_code", "serial", "version",
	"holder_name", "holder_kind", "holder_code", "fields",
	"valid_from", "valid_until", "issued_at", "status", "status_list_id", "status_index",
	"credential", "record_digest", "supersedes", "status_reason", "status_changed_at", "updated_at", "record",
}

var licenceColumns = strings.Join(licenceColumnList, ", ")

// licenceRow returns l's column values in licenceColumnList order.
func licenceRow(l *store.Licence) []any {
	return []any{
		l.ID, l.DepartmentCode, l.TypeCode, l.Serial, l.Version,
		l.HolderName, l.HolderKind, l.HolderCode, bytesOf(l.Fields),
		l.ValidFrom, nullTime(l.ValidUntil), l.IssuedAt, int16(l.Status), l.StatusListID, l.StatusIndex,
		l.Credential, l.RecordDigest, nullString(l.Supersedes), nullString(l.StatusReason), nullTime(l.StatusChangedAt), l.UpdatedAt,
		bytesOf(l.Record),
	}
}

// scanLicence scans a row of licenceColumns, after the columns scanned
// into lead.
func scanLicence(r pgx.Row, lead ...any) (store.Licence, error) {
	var l store.Licence
	var status int16
	var validUntil, changed *time.Time
	var supersedes, reason *string
	err := r.Scan(append(lead, &l.ID, &l.DepartmentCode, &l.TypeCode, &l.Serial, &l.Version,
		&l.HolderName, &l.HolderKind, &l.HolderCode, &l.Fields,
		&l.ValidFrom, &validUntil, &l.IssuedAt, &status, &l.StatusListID, &l.StatusIndex,
		&l.Credential, &l.RecordDigest, &supersedes, &reason, &changed, &l.UpdatedAt, &l.Record)...)
	l.Status = store.Status(status)
	l.ValidFrom, l.IssuedAt, l.UpdatedAt = l.ValidFrom.UTC(), l.IssuedAt.UTC(), l.UpdatedAt.UTC()
	l.ValidUntil, l.StatusChangedAt = timeOf(validUntil), timeOf(changed)
	if supersedes != nil {
		l.Supersedes = *supersedes
	}
	if reason != nil {
		l.StatusReason = *reason
	}
	return l, err
}

// prepare normalises a freshly built licence for storage.
func prepare(l *store.Licence, now time.Time) {
	l.ValidFrom, l.ValidUntil, l.IssuedAt = store.Timestamp(l.ValidFrom), store.Timestamp(l.ValidUntil), store.Timestamp(l.IssuedAt)
	l.StatusReason, l.StatusChangedAt = "", time.Time{}
	l.UpdatedAt = now
	l.Fields = bytesOf(l.Fields)
}

func insertLicence(ctx context.Context, tx pgx.Tx, l *store.Licence) error {
	_, err := tx.Exec(ctx, `INSERT INTO licences (`+licenceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		licenceRow(l)...)
	return mapErr(err)
}

// errIdempotencyRace reports that a concurrent request with the same
// idempotency key committed first.
var errIdempotencyRace = errors.New("idempotency key taken concurrently")

// recordIdempotency stores the key of an issuance in tx.
func (s *licenceStore) recordIdempotency(ctx context.Context, tx pgx.Tx, dept, key string, hash []byte, id string) error {
	if key == "" {
		return nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (department_code, key, request_hash, licence_id, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, dept, key, hash, id, s.clock())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errIdempotencyRace
	}
	return nil
}

// replay looks up an idempotency key. It reports found=false if the key is
// new, and otherwise returns the licence it issued or
// ErrIdempotencyMismatch.
func (s *licenceStore) replay(ctx context.Context, q querier, dept, key string, hash []byte) (store.Licence, bool, error) {
	if key == "" {
		return store.Licence{}, false, nil
	}
	var stored []byte
	var id string
	err := q.QueryRow(ctx, `SELECT request_hash, licence_id FROM idempotency_keys WHERE department_code = $1 AND key = $2`,
		dept, key).Scan(&stored, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Licence{}, false, nil
	}
	if err != nil {
		return store.Licence{}, false, fmt.Errorf("idempotency key: %w", err)
	}
	if !bytes.Equal(stored, hash) {
		return store.Licence{}, true, store.ErrIdempotencyMismatch
	}
	l, err := scanLicence(q.QueryRow(ctx, `SELECT `+licenceColumns+` FROM licences WHERE id = $1`, id))
	if err != nil {
		return store.Licence{}, true, fmt.Errorf("idempotent licence %s: %w", id, err)
	}
	return l, true, nil
}

// allocSerials takes a block of n serials for the department and type,
// returning the first. It returns ErrNotAuthorised if the department may
// not issue the type. The statement commits on its own, asynchronously
// (see durability.go).
func allocSerials(ctx context.Context, q batcher, dept, typeCode string, n int) (int64, error) {
	var first int64
	err := autonomousRow(ctx, q, func(r pgx.Row) error { return r.Scan(&first) },
		`INSERT INTO serial_counters (department_code, type_code, next_serial)
		SELECT department_code, type_code, 1 + $3::bigint FROM type_authorisations
		WHERE department_code = $1 AND type_code = $2
		ON CONFLICT (department_code, type_code) DO UPDATE SET next_serial = serial_counters.next_serial + $3::bigint
		RETURNING next_serial - $3::bigint`, dept, typeCode, n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%s for %s: %w", dept, typeCode, store.ErrNotAuthorised)
	}
	if err != nil {
		return 0, fmt.Errorf("allocate serials: %w", err)
	}
	return first, nil
}

// IssueLicence implements store.LicenceStore.
func (s *licenceStore) IssueLicence(ctx context.Context, p store.IssueParams, build func(store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	l, err := s.issue(ctx, p, build)
	if err != nil {
		return store.Licence{}, fmt.Errorf("issue licence: %w", err)
	}
	return l, nil
}

func (s *licenceStore) issue(ctx context.Context, p store.IssueParams, build func(store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	if err := p.Validate(); err != nil {
		return store.Licence{}, err
	}
	if p.IdempotencyKey == "" {
		return s.issueGrouped(ctx, p, build)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.Licence{}, err
	}
	defer conn.Release()
	if l, ok, err := s.replay(ctx, conn, p.DepartmentCode, p.IdempotencyKey, p.RequestHash); ok || err != nil {
		return l, err
	}
	serial, err := allocSerials(ctx, conn, p.DepartmentCode, p.TypeCode, 1)
	if err != nil {
		return store.Licence{}, err
	}
	quotas, err := s.reserveQuota(ctx, conn, p.DepartmentCode, 1)
	if err != nil {
		return store.Licence{}, err
	}
	sl, err := takeSlots(ctx, conn, quotas)
	if err != nil {
		return store.Licence{}, err
	}
	var out store.Licence
	err = inAsyncTx(ctx, conn, func(tx pgx.Tx) error {
		if err := holdKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
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
		if err := insertLicence(ctx, tx, &l); err != nil {
			return err
		}
		if err := s.recordIdempotency(ctx, tx, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, l.ID); err != nil {
			return err
		}
		if _, err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		if err := appendLog(ctx, tx, p.LogOrigin, tlog.HashLeaves(store.LicenceLeaf(&l)), []store.LogRef{{LicenceID: l.ID}}, nil); err != nil {
			return err
		}
		out = l
		return nil
	})
	return s.settle(ctx, conn, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, out, err)
}

// IssueBatch implements store.LicenceStore. Licences and audit entries are
// written with COPY, slots with one INSERT per list, so the number of
// round trips does not grow with n.
func (s *licenceStore) IssueBatch(ctx context.Context, p store.IssueParams, n int, build func(int, store.Allocation) (store.Licence, store.AuditEvent, error)) ([]store.Licence, error) {
	out, err := s.issueBatch(ctx, p, n, build)
	if err != nil {
		return nil, fmt.Errorf("issue batch of %d: %w", n, err)
	}
	return out, nil
}

func (s *licenceStore) issueBatch(ctx context.Context, p store.IssueParams, n int, build func(int, store.Allocation) (store.Licence, store.AuditEvent, error)) ([]store.Licence, error) {
	if err := p.ValidateBatch(n); err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	out := make([]store.Licence, n)
	todo, err := s.replayRows(ctx, conn, p, out)
	if err != nil || len(todo) == 0 {
		return out, err
	}
	m := len(todo)
	first, err := allocSerials(ctx, conn, p.DepartmentCode, p.TypeCode, m)
	if err != nil {
		return nil, err
	}
	quotas, err := s.reserveQuota(ctx, conn, p.DepartmentCode, m)
	if err != nil {
		return nil, err
	}
	events := make([]store.AuditEvent, m)
	sl, err := takeSlots(ctx, conn, quotas)
	if err != nil {
		return nil, err
	}
	err = inTx(ctx, conn, func(tx pgx.Tx) error {
		if err := holdKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		now := s.clock()
		for j, i := range todo {
			a := store.Allocation{Serial: first + int64(j), Version: 1, StatusListID: sl[j].list, StatusIndex: sl[j].index}
			// Built in place: no copy of each licence.
			var err error
			if out[i], events[j], err = build(i, a); err != nil {
				return fmt.Errorf("build %d: %w", i, err)
			}
			if err := errors.Join(out[i].CheckAllocation(p.DepartmentCode, p.TypeCode, "", a), events[j].Validate()); err != nil {
				return fmt.Errorf("licence %d: %w", i, err)
			}
			prepare(&out[i], now)
		}
		// The leaves hashed now, before the locks below (held until the
		// commit, so batches take them one after the other).
		var leaves []tlog.HashedLeaf
		var refs []store.LogRef
		if p.LogOrigin != "" {
			leaves, refs = store.BatchLeaves(out, todo)
		}
		if err := copyLicences(ctx, tx, out, todo); err != nil {
			return err
		}
		if len(p.RowKeys) > 0 {
			err := copyBinary(ctx, tx, copyRowKeysSQL, m, func(b []byte, j int) ([]byte, error) {
				i := todo[j]
				return appendRowKey(b, p.DepartmentCode, p.RowKeys[i], p.RowHashes[i], out[i].ID, now), nil
			})
			if err != nil {
				return fmt.Errorf("record row keys: %w", mapErr(err))
			}
		}
		// The leaves' lookup rows, before the locks too.
		var pre *prelogged
		if len(leaves) > 0 {
			if pre, err = prelogLeaves(ctx, tx, leaves); err != nil {
				return err
			}
		}
		if _, err = s.appendAudit(ctx, tx, events...); err != nil {
			return err
		}
		// One append for the whole batch, after the audit head's lock.
		return appendLog(ctx, tx, p.LogOrigin, leaves, refs, pre)
	})
	if err != nil {
		return nil, err
	}
	s.wrote(len(out))
	return out, nil
}

// replayRows fills in out the licences of the batch's rows whose keys were
// recorded before and returns the indices of the others, in order.
func (s *licenceStore) replayRows(ctx context.Context, q querier, p store.IssueParams, out []store.Licence) ([]int, error) {
	todo := make([]int, 0, len(out))
	if len(p.RowKeys) == 0 {
		for i := range out {
			todo = append(todo, i)
		}
		return todo, nil
	}
	rows, _ := q.Query(ctx, `SELECT k.key, k.request_hash, `+prefixed("l.", licenceColumnList)+`
		FROM idempotency_keys k JOIN licences l ON l.id = k.licence_id
		WHERE k.department_code = $1 AND k.key = ANY($2)`, p.DepartmentCode, p.RowKeys)
	type seen struct {
		hash []byte
		l    store.Licence
	}
	found := map[string]seen{}
	for rows.Next() {
		var key string
		var hash []byte
		l, err := scanLicence(rows, &key, &hash)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("row keys: %w", err)
		}
		found[key] = seen{hash, l}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("row keys: %w", err)
	}
	for i, k := range p.RowKeys {
		f, ok := found[k]
		switch {
		case !ok:
			todo = append(todo, i)
		case !bytes.Equal(f.hash, p.RowHashes[i]):
			return nil, fmt.Errorf("row %d: %w", i, store.ErrIdempotencyMismatch)
		default:
			out[i] = f.l
		}
	}
	return todo, nil
}

// prefixed returns the columns, each prefixed, comma separated.
func prefixed(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

// ReissueLicence implements store.LicenceStore.
func (s *licenceStore) ReissueLicence(ctx context.Context, p store.ReissueParams, build func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	l, err := s.reissue(ctx, p, build)
	if err != nil {
		return store.Licence{}, fmt.Errorf("re-issue licence %s: %w", p.LicenceID, err)
	}
	return l, nil
}

func (s *licenceStore) reissue(ctx context.Context, p store.ReissueParams, build func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error)) (store.Licence, error) {
	if err := p.Validate(); err != nil {
		return store.Licence{}, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.Licence{}, err
	}
	defer conn.Release()
	if l, ok, err := s.replay(ctx, conn, p.DepartmentCode, p.IdempotencyKey, p.RequestHash); ok || err != nil {
		return l, err
	}
	// Check before reserving a slot; the transaction checks again under lock.
	if _, err := licenceOf(ctx, conn, p.DepartmentCode, p.LicenceID); err != nil {
		return store.Licence{}, err
	}
	quotas, err := s.reserveQuota(ctx, conn, p.DepartmentCode, 1)
	if err != nil {
		return store.Licence{}, err
	}
	sl, err := takeSlots(ctx, conn, quotas)
	if err != nil {
		return store.Licence{}, err
	}
	var out store.Licence
	err = inAsyncTx(ctx, conn, func(tx pgx.Tx) error {
		old, err := lockLicence(ctx, tx, p.DepartmentCode, p.LicenceID)
		if err != nil {
			return err
		}
		if old.Status != store.StatusValid {
			return fmt.Errorf("%w: licence is %s", store.ErrInvalidTransition, old.Status)
		}
		if err := holdKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM type_authorisations WHERE department_code = $1 AND type_code = $2)`,
			old.DepartmentCode, old.TypeCode).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s for %s: %w", old.DepartmentCode, old.TypeCode, store.ErrNotAuthorised)
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
		if err := insertLicence(ctx, tx, &l); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE licences SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4
			WHERE id = $1`, old.ID, int16(store.StatusRevoked), store.ReasonSuperseded, now); err != nil {
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
		if err := appendLog(ctx, tx, p.LogOrigin, tlog.HashLeaves(store.LicenceLeaf(&l)), []store.LogRef{{LicenceID: l.ID}}, nil); err != nil {
			return err
		}
		out = l
		return nil
	})
	return s.settle(ctx, conn, p.DepartmentCode, p.IdempotencyKey, p.RequestHash, out, err)
}

// holdKeyQuery reads the state of a signing key and holds it (FOR SHARE)
// until the end of the transaction, so that a concurrent retirement or
// compromise (which takes the row FOR UPDATE) waits for the commit, and an
// issuance that starts after it sees the new state.
const holdKeyQuery = `SELECT state FROM signing_keys WHERE department_code = $1 AND id = $2 FOR SHARE`

// holdKey returns ErrKeyNotActive unless id (when not empty) is the
// department's active key, and holds the key row until the end of tx.
func holdKey(ctx context.Context, tx pgx.Tx, dept, id string) error {
	if id == "" {
		return nil
	}
	var state store.KeyState
	err := tx.QueryRow(ctx, holdKeyQuery, dept, id).Scan(&state)
	return keyStateErr(err, state, dept, id)
}

func keyStateErr(err error, state store.KeyState, dept, id string) error {
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && state != store.KeyActive) {
		return fmt.Errorf("key %s/%s: %w", dept, id, store.ErrKeyNotActive)
	}
	return err
}

// ReissueBatch implements store.LicenceStore. New versions are written
// with COPY and the old ones superseded with one UPDATE, as IssueBatch
// does.
func (s *licenceStore) ReissueBatch(ctx context.Context, p store.ReissueBatchParams, build func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error)) ([]store.Reissued, error) {
	out, err := s.reissueBatch(ctx, p, build)
	if err != nil {
		return nil, fmt.Errorf("re-issue batch of %d: %w", len(p.LicenceIDs), err)
	}
	return out, nil
}

func (s *licenceStore) reissueBatch(ctx context.Context, p store.ReissueBatchParams, build func(store.Licence, store.Allocation) (store.Licence, store.AuditEvent, error)) ([]store.Reissued, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	// A slot for every licence: the caller sends current versions, so
	// few are skipped, and a skipped licence's slot stays unused.
	quotas, err := s.reserveQuota(ctx, conn, p.DepartmentCode, len(p.LicenceIDs))
	if err != nil {
		return nil, err
	}
	sl, err := takeSlots(ctx, conn, quotas)
	if err != nil {
		return nil, err
	}
	out := make([]store.Reissued, len(p.LicenceIDs))
	err = inTx(ctx, conn, func(tx pgx.Tx) error {
		if err := holdKey(ctx, tx, p.DepartmentCode, p.KeyID); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT type_code FROM type_authorisations WHERE department_code = $1`, p.DepartmentCode)
		types, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		now := s.clock()
		rows, _ = tx.Query(ctx, supersedeBatch, p.DepartmentCode, slices.Sorted(slices.Values(p.LicenceIDs)), int16(store.StatusRevoked), types, store.ReasonSuperseded, now)
		superseded, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Licence, error) { return scanLicence(r) })
		if err != nil {
			return err
		}
		byID := make(map[string]store.Licence, len(superseded))
		for _, l := range superseded {
			byID[l.ID] = l
		}
		if len(superseded) < len(p.LicenceIDs) {
			if err := s.whySkipped(ctx, tx, p, types, byID, out); err != nil {
				return err
			}
		}
		if len(superseded) == 0 {
			return nil
		}
		news := make([]store.Licence, 0, len(superseded))
		events := make([]store.AuditEvent, 0, len(superseded))
		lists := map[string]bool{}
		for i, id := range p.LicenceIDs {
			old, ok := byID[id]
			if !ok {
				continue
			}
			j := len(news)
			a := store.Allocation{Serial: old.Serial, Version: old.Version + 1, StatusListID: sl[j].list, StatusIndex: sl[j].index}
			l, ev, err := build(old, a)
			if err != nil {
				return fmt.Errorf("build %s: %w", old.ID, err)
			}
			if err := errors.Join(l.CheckAllocation(old.DepartmentCode, old.TypeCode, old.ID, a), ev.Validate()); err != nil {
				return err
			}
			prepare(&l, now)
			if old.Status == store.StatusSuspended {
				l.Status, l.StatusReason, l.StatusChangedAt = store.StatusSuspended, old.StatusReason, now
				lists[l.StatusListID] = true
			}
			lists[old.StatusListID] = true
			news, events = append(news, l), append(events, ev)
			out[i] = store.Reissued{Old: old, New: l}
		}
		var leaves []tlog.HashedLeaf
		var refs []store.LogRef
		if p.LogOrigin != "" {
			// Hashed before the locks, as IssueBatch does.
			leaves, refs = store.LicenceLeaves(news)
		}
		if err := copyLicences(ctx, tx, news, nil); err != nil {
			return err
		}
		// The leaves' lookup rows, before the locks too.
		var pre *prelogged
		if len(leaves) > 0 {
			if pre, err = prelogLeaves(ctx, tx, leaves); err != nil {
				return err
			}
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
		return appendLog(ctx, tx, p.LogOrigin, leaves, refs, pre)
	})
	if err != nil {
		return nil, err
	}
	s.wrote(len(out))
	return out, nil
}

// supersedeBatch marks the current versions among the licences $2 of
// department $1 whose type is among $4 superseded ($3 revoked, reason
// $5, at $6), in one statement: it locks them in ID order (so that
// concurrent batches cannot deadlock; one that waited re-checks the row
// and skips a licence superseded meanwhile) and returns each as it was
// before.
//
// Its plan must not depend on the table's statistics, which are stale
// right after a bulk load (the planner then believes a department has a
// handful of licences and scans all of them for every batch, which makes
// a run quadratic in the department's size): each licence is looked up
// through the primary key in a LATERAL subquery that OFFSET 0 keeps from
// being flattened into a join, the rows are locked in the order of $2
// (which the caller sorts, so that concurrent batches lock in the same
// order), and the UPDATE reaches the locked rows by their tuple IDs (a
// Tid Scan; a locked row cannot move before the transaction ends).
// TestSupersedePlan checks the plan.
var supersedeBatch = `WITH old AS (
		SELECT l.ctid AS tid, l.id, l.status, l.status_reason, l.status_changed_at, l.updated_at
		FROM unnest($2::text[]) AS want(id), LATERAL (
			SELECT ctid, id, status, status_reason, status_changed_at, updated_at FROM licences
			WHERE id = want.id AND department_code = $1 AND status <> $3 AND type_code = ANY($4)
			OFFSET 0) AS l
		ORDER BY l.id FOR UPDATE)
	UPDATE licences l SET status = $3, status_reason = $5, status_changed_at = $6, updated_at = $6
	FROM old WHERE l.ctid = ANY(ARRAY(SELECT tid FROM old)) AND l.id = old.id
	RETURNING ` + func() string {
	cols := make([]string, len(licenceColumnList))
	for i, c := range licenceColumnList {
		switch c {
		case "status", "status_reason", "status_changed_at", "updated_at":
			cols[i] = "old." + c
		default:
			cols[i] = "l." + c
		}
	}
	return strings.Join(cols, ", ")
}()

// whySkipped fills in out the reason each licence of p that is not in
// superseded was skipped.
func (s *licenceStore) whySkipped(ctx context.Context, tx pgx.Tx, p store.ReissueBatchParams, types []string, superseded map[string]store.Licence, out []store.Reissued) error {
	var missing []string
	for _, id := range p.LicenceIDs {
		if _, ok := superseded[id]; !ok {
			missing = append(missing, id)
		}
	}
	rows, _ := tx.Query(ctx, `SELECT `+licenceColumns+` FROM licences WHERE department_code = $1 AND id = ANY($2)`, p.DepartmentCode, missing)
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Licence, error) { return scanLicence(r) })
	if err != nil {
		return err
	}
	byID := make(map[string]store.Licence, len(found))
	for _, l := range found {
		byID[l.ID] = l
	}
	for i, id := range p.LicenceIDs {
		if _, ok := superseded[id]; ok {
			continue
		}
		l, ok := byID[id]
		switch {
		case !ok:
			out[i] = store.Reissued{Old: store.Licence{ID: id}, Skipped: store.SkipNotFound}
		case l.Status != store.StatusRevoked && !slices.Contains(types, l.TypeCode):
			out[i] = store.Reissued{Old: l, Skipped: store.SkipNotAuthorised}
		default: // revoked, or changed while this batch ran
			out[i] = store.Reissued{Old: l, Skipped: store.SkipNotCurrent}
		}
	}
	return nil
}

// lockLicence reads the department's licence and locks its row until the
// end of tx.
func lockLicence(ctx context.Context, tx pgx.Tx, dept, id string) (store.Licence, error) {
	l, err := scanLicence(tx.QueryRow(ctx, `SELECT `+licenceColumns+` FROM licences
		WHERE id = $1 AND department_code = $2 FOR UPDATE`, id, dept))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Licence{}, store.ErrNotFound
	}
	return l, err
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
	err := s.changeStatus(ctx, audit, func(tx pgx.Tx) (string, error) {
		old, err := lockLicence(ctx, tx, c.DepartmentCode, c.LicenceID)
		if err != nil {
			return "", err
		}
		if err := store.ValidateTransition(old.Status, c.Status); err != nil {
			return "", err
		}
		now := s.clock()
		out, err = scanLicence(tx.QueryRow(ctx, `UPDATE licences SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4
			WHERE id = $1 RETURNING `+licenceColumns, old.ID, int16(c.Status), nullString(reason), now))
		return old.StatusListID, err
	})
	if err != nil {
		return store.Licence{}, fmt.Errorf("update status of %s to %s: %w", c.LicenceID, c.Status, err)
	}
	return out, nil
}

// Licence implements store.LicenceStore.
func (s *licenceStore) Licence(ctx context.Context, dept, id string) (store.Licence, error) {
	return licenceOf(ctx, s.pool, dept, id)
}

func licenceOf(ctx context.Context, q querier, dept, id string) (store.Licence, error) {
	l, err := scanLicence(q.QueryRow(ctx, `SELECT `+licenceColumns+` FROM licences WHERE id = $1 AND department_code = $2`, id, dept))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Licence{}, fmt.Errorf("licence %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Licence{}, fmt.Errorf("licence %s: %w", id, err)
	}
	return l, nil
}

// ListLicences implements store.LicenceStore.
func (s *licenceStore) ListLicences(ctx context.Context, q store.LicenceQuery) ([]store.Licence, string, error) {
	limit := store.PageLimit(q.Limit)
	sql, args, err := listQuery(q, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list licences: %w", err)
	}
	rows, _ := s.pool.Query(ctx, sql, args...)
	page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Licence, error) { return scanLicence(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list licences: %w", err)
	}
	page, next := cursor.Trim(page, limit)
	return page, next, nil
}

// listQuery is the statement and arguments of one ListLicences page of at
// most limit licences (it asks for one more, to know whether there is a
// next page).
func listQuery(q store.LicenceQuery, limit int) (string, []any, error) {
	where := []string{"department_code = $1"}
	args := []any{q.DepartmentCode}
	add := func(cond string, v ...any) {
		for _, x := range v {
			args = append(args, x)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	if q.TypeCode != "" {
		add("type_code = ?", q.TypeCode)
	}
	if q.HolderCode != "" {
		add("holder_code = ?", q.HolderCode)
	}
	if q.Status != nil {
		add("status = ?", int16(*q.Status))
	}
	if q.Cursor != "" {
		at, id, err := cursor.Decode(q.Cursor)
		if err != nil {
			return "", nil, err
		}
		add("(issued_at, id) < (?, ?)", at, id)
	}
	args = append(args, limit+1)
	return `SELECT ` + licenceColumns + ` FROM licences WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY issued_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args)), args, nil
}

// settle ends an issuance or re-issue transaction that ended with err: a
// concurrent request that recorded the same idempotency key first wins and
// its licence is replayed; otherwise the committed licence is flushed to
// disk before it is returned.
func (s *licenceStore) settle(ctx context.Context, conn querier, dept, key string, hash []byte, out store.Licence, err error) (store.Licence, error) {
	if errors.Is(err, errIdempotencyRace) {
		l, _, err := s.replay(ctx, conn, dept, key, hash)
		return l, err
	}
	if err != nil {
		return store.Licence{}, err
	}
	return out, s.flush(ctx, conn)
}
