package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Planner statistics after bulk writes.
//
// PostgreSQL plans from the statistics ANALYZE last gathered, and
// autovacuum gathers them again only after its naptime (a minute by
// default) once a tenth of a table has changed. Right after a bulk
// issuance or a re-issue run the licences table can be many times the
// size its statistics say, and the planner then believes a department has
// a handful of licences: it answers every page of a listing by reading and
// sorting all of them (a bitmap scan and a top-N sort instead of the
// listing index), so that paging through a department, as a key's
// re-issue does, costs time quadratic in its size. The store therefore
// analyses the table itself, in the background, once the licences it has
// written since it last did reach half the table (at least
// analyzeMinRows), so that its statistics are never less than two thirds
// of the truth, and only the columns that queries select, join or sort by
// (analyzeColumns): the planner has no use for the statistics of the wide
// columns (credential, record, fields), which cost half of a full
// ANALYZE. Only one ANALYZE runs at a time per store; it takes a lock that
// does not block reads or writes. (With a tenth of the table and every
// column, as before, a bulk load of 300,000 licences into an empty table
// ran ANALYZE about twenty times, 15 µs of PostgreSQL CPU a licence, as
// much as writing it.)

// analyzeMinRows is the fewest licences written between two ANALYZE runs.
const analyzeMinRows = 10_000

// analyzeColumns are the columns of licences that queries filter, join or
// order by; autovacuum still analyses them all when it comes.
const analyzeColumns = `id, department_code, type_code, holder_code, status, issued_at, status_list_id, status_index, supersedes`

// analyzeTimeout bounds one background ANALYZE.
const analyzeTimeout = time.Minute

// tableStats tracks the licences written since the last ANALYZE.
type tableStats struct {
	written   atomic.Int64 // licences written since the last ANALYZE began
	threshold atomic.Int64 // written count that starts the next one
	running   atomic.Bool
	wg        sync.WaitGroup
}

// wrote records that n licences were committed and starts a background
// ANALYZE of the licences table when enough have been.
func (s *statusStore) wrote(n int) {
	st := &s.stats
	th := st.threshold.Load()
	if th == 0 {
		th = analyzeMinRows
	}
	if st.written.Add(int64(n)) < th || !st.running.CompareAndSwap(false, true) {
		return
	}
	st.written.Store(0)
	st.wg.Go(func() {
		defer st.running.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), analyzeTimeout)
		defer cancel()
		if _, err := s.pool.Exec(ctx, `ANALYZE licences (`+analyzeColumns+`)`); err != nil {
			return // autovacuum remains; nothing is lost
		}
		var rows float64
		if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'licences'::regclass`).Scan(&rows); err == nil {
			st.threshold.Store(max(analyzeMinRows, int64(rows/2)))
		}
	})
}
