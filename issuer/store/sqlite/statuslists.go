package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"elicence/issuer/store"
	"elicence/issuer/store/internal/slots"
)

const listColumns = `id, department_code, seq, size, allocated, revision, created_at, updated_at`

func scanList(r interface{ Scan(...any) error }) (store.StatusList, error) {
	var l store.StatusList
	err := r.Scan(&l.ID, &l.DepartmentCode, &l.Seq, &l.Size, &l.Allocated, &l.Revision, tm{&l.CreatedAt}, tm{&l.UpdatedAt})
	return l, err
}

// slot is one status-list entry.
type slot struct {
	list  string
	index int
}

// allocSlots hands out n random free entries of the department's status
// lists, opening a new list whenever the current one is half full.
func (s *licenceStore) allocSlots(ctx context.Context, tx *sql.Tx, dept string, n int) ([]slot, error) {
	insert, err := tx.PrepareContext(ctx, `INSERT INTO status_slots (list_id, idx) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, err
	}
	defer insert.Close()
	out := make([]slot, 0, n)
	for len(out) < n {
		var id string
		var seq, size, allocated int
		err := tx.QueryRowContext(ctx, `SELECT id, seq, size, allocated FROM status_lists
			WHERE department_code = ? ORDER BY seq DESC LIMIT 1`, dept).Scan(&id, &seq, &size, &allocated)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("current status list: %w", err)
		}
		if errors.Is(err, sql.ErrNoRows) || allocated >= size/2 {
			now := micros(s.clock())
			if _, err := tx.ExecContext(ctx, `INSERT INTO status_lists (`+listColumns+`) VALUES (?, ?, ?, ?, 0, 0, ?, ?)`,
				store.StatusListID(dept, seq+1), dept, seq+1, s.listSize, now, now); err != nil {
				return nil, fmt.Errorf("open status list %d of %s: %w", seq+1, dept, mapErr(err))
			}
			continue
		}
		k := min(n-len(out), size/2-allocated)
		if _, err := tx.ExecContext(ctx, `UPDATE status_lists SET allocated = allocated + ? WHERE id = ?`, k, id); err != nil {
			return nil, err
		}
		tried := make(map[int]bool, k)
		for need := k; need > 0; {
			for _, i := range slots.Distinct(size, need, tried) {
				res, err := insert.ExecContext(ctx, id, i)
				if err != nil {
					return nil, fmt.Errorf("take status list slot: %w", err)
				}
				if n, _ := res.RowsAffected(); n == 1 {
					out = append(out, slot{id, i})
					need--
				}
			}
		}
	}
	return out, nil
}

// bumpRevision records a status change in list id.
func (s *licenceStore) bumpRevision(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `UPDATE status_lists SET revision = revision + 1, updated_at = max(updated_at, ?) WHERE id = ?`,
		micros(s.clock()), id)
	return err
}

// StatusList implements store.StatusListStore.
func (s *licenceStore) StatusList(ctx context.Context, id string) (store.StatusList, error) {
	l, err := scanList(s.r.QueryRowContext(ctx, `SELECT `+listColumns+` FROM status_lists WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.StatusList{}, fmt.Errorf("status list %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.StatusList{}, fmt.Errorf("status list %s: %w", id, err)
	}
	return l, nil
}

// StatusListEntries implements store.StatusListStore.
func (s *licenceStore) StatusListEntries(ctx context.Context, id string) (store.StatusList, []store.StatusEntry, error) {
	var list store.StatusList
	var entries []store.StatusEntry
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		list, err = scanList(tx.QueryRowContext(ctx, `SELECT `+listColumns+` FROM status_lists WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		entries, err = collect(ctx, tx, func(r interface{ Scan(...any) error }) (store.StatusEntry, error) {
			var e store.StatusEntry
			var st int
			err := r.Scan(&e.Index, &st, nstr{&e.Reason}, tm{&e.ChangedAt})
			e.Status = store.Status(st)
			return e, err
		}, `SELECT status_index, status, status_reason, status_changed_at FROM licences WHERE status_list_id = ? AND status <> 0
			UNION ALL
			SELECT status_index, status, status_reason, status_changed_at FROM documents WHERE status_list_id = ? AND status <> 0
			ORDER BY status_index`, id, id)
		return err
	})
	if err != nil {
		return store.StatusList{}, nil, fmt.Errorf("status list %s: %w", id, err)
	}
	return list, entries, nil
}

// ListStatusLists implements store.StatusListStore.
func (s *licenceStore) ListStatusLists(ctx context.Context, dept string) ([]store.StatusList, error) {
	out, err := collect(ctx, s.r, scanList, `SELECT `+listColumns+` FROM status_lists WHERE department_code = ? ORDER BY seq`, dept)
	if err != nil {
		return nil, fmt.Errorf("list status lists of %s: %w", dept, err)
	}
	return out, nil
}
