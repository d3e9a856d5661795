package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
	"elicence/issuer/store/internal/slots"
)

const listColumns = `id, department_code, seq, size, allocated, revision, created_at, updated_at`

func scanList(r pgx.Row) (store.StatusList, error) {
	var l store.StatusList
	err := r.Scan(&l.ID, &l.DepartmentCode, &l.Seq, &l.Size, &l.Allocated, &l.Revision, &l.CreatedAt, &l.UpdatedAt)
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, err
}

// quota is a number of entries reserved in one status list.
type quota struct {
	list string
	size int
	n    int
}

// reserveQuota reserves n entries in the department's status lists,
// opening new lists as the current one reaches half its size. Each step
// commits on its own, so no lock outlives it; entries reserved for a
// transaction that then fails are never used.
func (s *statusStore) reserveQuota(ctx context.Context, conn batchConn, dept string, n int) ([]quota, error) {
	var out []quota
	for n > 0 {
		var q quota
		var seq int
		// One statement, committed on its own without waiting for the
		// disk (see durability.go): lock the newest list, take what it
		// has left up to n, and report it.
		err := autonomousRow(ctx, conn, func(r pgx.Row) error {
			err := r.Scan(&q.list, &seq, &q.size, &q.n)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		}, `WITH cur AS (
				SELECT id, seq, size, allocated FROM status_lists
				WHERE department_code = $1 ORDER BY seq DESC LIMIT 1 FOR NO KEY UPDATE),
			upd AS (
				UPDATE status_lists s SET allocated = s.allocated + LEAST($2::integer, cur.size / 2 - cur.allocated)
				FROM cur WHERE s.id = cur.id AND cur.allocated < cur.size / 2
				RETURNING LEAST($2::integer, cur.size / 2 - cur.allocated) AS n)
			SELECT cur.id, cur.seq, cur.size, COALESCE((SELECT n FROM upd), 0) FROM cur`, dept, n)
		if err != nil {
			return nil, fmt.Errorf("reserve status list entries: %w", err)
		}
		if q.n > 0 {
			out = append(out, q)
			n -= q.n
			continue
		}
		// The current list is half full, or there is none: open the next.
		// If another process opened it first, the insert does nothing and
		// the next round reserves from that list.
		next := seq + 1
		now := s.clock()
		_, err = conn.Exec(ctx, `INSERT INTO status_lists (`+listColumns+`) VALUES ($1, $2, $3, $4, 0, 0, $5, $5)
			ON CONFLICT DO NOTHING`, store.StatusListID(dept, next), dept, next, s.listSize, now)
		if err != nil {
			return nil, fmt.Errorf("open status list %d of %s: %w", next, dept, mapErr(err))
		}
	}
	return out, nil
}

// slot is one status-list entry.
type slot struct {
	list  string
	index int
}

// takeSlots inserts random free indices for the reserved quotas into
// status_slots, replacing any index already taken by a fresh draw. A list
// is at most half full, so each draw succeeds with probability at least
// 1/2.
//
// Each round is a transaction of its own, committed asynchronously before
// the issuance transaction starts (see durability.go), with its indices in
// ascending order: concurrent issuances then never wait on each other's
// uncommitted slots for long and never deadlock, whatever their sizes. Each
// list's slots are shuffled before they are handed out, so that the order
// of issuance within a batch does not show in the indices. Slots of an
// issuance that then fails stay unused, like its quota.
func takeSlots(ctx context.Context, db batcher, quotas []quota) ([]slot, error) {
	var out []slot
	for _, q := range quotas {
		first := len(out)
		tried := make(map[int]bool, q.n)
		for need := q.n; need > 0; {
			cand := slots.Distinct(q.size, need, tried)
			sort.Ints(cand)
			var got []int
			err := autonomous(ctx, db, func(b *pgx.Batch) {
				b.Queue(`INSERT INTO status_slots (list_id, idx) SELECT $1, unnest($2::integer[])
					ON CONFLICT DO NOTHING RETURNING idx`, q.list, cand).Query(func(rows pgx.Rows) error {
					var err error
					got, err = pgx.CollectRows(rows, pgx.RowTo[int])
					return err
				})
			})
			if err != nil {
				return nil, fmt.Errorf("take status list slots: %w", err)
			}
			for _, i := range got {
				out = append(out, slot{q.list, i})
			}
			need -= len(got)
		}
		mine := out[first:]
		for i := len(mine) - 1; i > 0; i-- {
			j := slots.Random(i + 1)
			mine[i], mine[j] = mine[j], mine[i]
		}
	}
	return out, nil
}

// bumpRevision records a status change in list id.
func (s *statusStore) bumpRevision(ctx context.Context, tx pgx.Tx, id string) error {
	// The NOTIFY is delivered to every listener (WatchStatus, in this
	// process or another) when tx commits, and not at all if it rolls
	// back; PostgreSQL folds the notifications of one transaction into
	// one.
	if _, err := tx.Exec(ctx, `UPDATE status_lists SET revision = revision + 1, updated_at = GREATEST(updated_at, $2) WHERE id = $1`,
		id, s.clock()); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `NOTIFY `+statusChannel)
	return err
}

// StatusList implements store.StatusListStore.
func (s *statusStore) StatusList(ctx context.Context, id string) (store.StatusList, error) {
	l, err := scanList(s.pool.QueryRow(ctx, `SELECT `+listColumns+` FROM status_lists WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.StatusList{}, fmt.Errorf("status list %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.StatusList{}, fmt.Errorf("status list %s: %w", id, err)
	}
	return l, nil
}

// StatusListEntries implements store.StatusListStore.
func (s *statusStore) StatusListEntries(ctx context.Context, id string) (store.StatusList, []store.StatusEntry, error) {
	var list store.StatusList
	var entries []store.StatusEntry
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		list, err = scanList(tx.QueryRow(ctx, `SELECT `+listColumns+` FROM status_lists WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		// Licences and documents share the department's lists.
		rows, _ := tx.Query(ctx, `SELECT status_index, status, status_reason, status_changed_at FROM licences
			WHERE status_list_id = $1 AND status <> 0
			UNION ALL
			SELECT status_index, status, status_reason, status_changed_at FROM documents
			WHERE status_list_id = $1 AND status <> 0
			ORDER BY status_index`, id)
		entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.StatusEntry, error) {
			var e store.StatusEntry
			var st int16
			var reason *string
			var changed *time.Time
			err := r.Scan(&e.Index, &st, &reason, &changed)
			e.Status = store.Status(st)
			if reason != nil {
				e.Reason = *reason
			}
			e.ChangedAt = timeOf(changed)
			return e, err
		})
		return err
	})
	if err != nil {
		return store.StatusList{}, nil, fmt.Errorf("status list %s: %w", id, err)
	}
	return list, entries, nil
}

// ListStatusLists implements store.StatusListStore.
func (s *statusStore) ListStatusLists(ctx context.Context, dept string) ([]store.StatusList, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+listColumns+` FROM status_lists WHERE department_code = $1 ORDER BY seq`, dept)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.StatusList, error) { return scanList(r) })
	if err != nil {
		return nil, fmt.Errorf("list status lists of %s: %w", dept, err)
	}
	return out, nil
}

// changeStatus is what every single status change shares (a licence's
// UpdateStatus, a document's RescindDocument): on a connection of its own,
// in a transaction committed without waiting for the disk, change locks and
// updates one row and names its status list; the list's revision is bumped
// (which notifies watchers) and audit appended in the same transaction;
// then one synchronous flush, so that nothing is answered before it is on
// disk (durability.go).
func (s *Store) changeStatus(ctx context.Context, audit store.AuditEvent, change func(pgx.Tx) (list string, err error)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = inAsyncTx(ctx, conn, func(tx pgx.Tx) error {
		list, err := change(tx)
		if err != nil {
			return err
		}
		if err := s.bumpRevision(ctx, tx, list); err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err == nil {
		err = s.flush(ctx, conn)
	}
	return err
}
