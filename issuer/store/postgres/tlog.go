package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"elicence/issuer/store"
	"elicence/tlog"
)

// The issuance log's storage seam (tlog.Tx, tlog.Reader) on PostgreSQL.
//
// An append locks the log's tlog_state row (lockLogQuery, FOR UPDATE) so
// that appenders in several processes follow each other and never write
// the same index; a log never appended to gets its row, and its number,
// first (createLogQuery). Every issuing transaction takes the audit head
// first and the log's row after it, always in that order, so the two
// locks cannot deadlock. An append then writes, in one round trip (or
// queued on the caller's pipeline): its leaves as one tlog_bundle row, the
// node hashes of tree levels 8, 16, … and the new state. Its narrow
// tlog_lookup rows (leaf hash to batch number and position) are written
// before the locks by the bulk paths (prelogLeaves, queuePrelog), or else
// with the bundle. Migration 00007 says why the leaves are not a row each.

// lockLogQuery locks the state row of a log and returns it with the log's
// number.
const lockLogQuery = `SELECT log, size, root, compact FROM tlog_state WHERE origin = $1 FOR UPDATE`

// createLogQuery inserts the state row of a log never appended to (or
// does nothing if another appender just did).
const createLogQuery = `INSERT INTO tlog_state (origin, size, root, compact) VALUES ($1, 0, $2, '') ON CONFLICT (origin) DO NOTHING`

// insertBundle writes an append's leaves under the batch number its
// lookup rows carry (prelogLeaves).
const insertBundle = `INSERT INTO tlog_bundle (log, start, batch, leaves) VALUES ($1, $2, $3, $4)`

// insertBundleNext and insertLookupsCurr write an append's leaves and
// lookup rows under a new batch number, in that order on one session
// (currval), for an append whose lookups were not written before the
// locks.
const insertBundleNext = `INSERT INTO tlog_bundle (log, start, batch, leaves) VALUES ($1, $2, nextval('tlog_bundle_batch'), $3)`

const insertLookupsCurr = `INSERT INTO tlog_lookup (hash, batch, pos)
	SELECT u.h, c.batch, u.p - 1 FROM (SELECT currval('tlog_bundle_batch') AS batch) c, unnest($1::bytea[]) WITH ORDINALITY AS u (h, p)`

// nextBatchQuery takes the batch number of lookup rows written before the
// append that places them (prelogLeaves, queuePrelog).
const nextBatchQuery = `SELECT nextval('tlog_bundle_batch')`

const insertHashes = `INSERT INTO tlog_hash (origin, level, idx, hash)
	SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])`

const updateLogState = `UPDATE tlog_state SET size = $2, root = $3, compact = $4 WHERE log = $1 AND size = $5`

// logTx is the tlog.Tx of a store transaction. With batch set, the
// state was read ahead on the caller's pipeline (lockLogAhead) and
// AppendLog queues its statements on batch instead of sending them.
// refs names what each leaf commits to; only its length is checked here,
// as the leaf itself is computed from the object (migration 00007).
type logTx struct {
	tx    pgx.Tx
	refs  []store.LogRef
	batch *pgx.Batch
	// pre is the lookup rows written before the locks (prelogLeaves), for
	// the one append that follows; nil, the append writes its own.
	pre *prelogged
	// The log locked, by LockLog or ahead: its origin, number and state.
	origin string
	log    int32
	state  tlog.State
	locked bool
}

// prelogged is what prelogLeaves wrote: the lookup rows of n leaves under
// batch number batch.
type prelogged struct {
	batch int64
	n     int
}

// prelogLeaves writes the lookup rows of leaves, in tx and before the
// audit head's and the log's locks, under a new batch number, and returns
// what the append of the same leaves must be told (logTx.pre).
func prelogLeaves(ctx context.Context, tx pgx.Tx, leaves []tlog.HashedLeaf) (*prelogged, error) {
	if len(leaves) < copyLeaves {
		b := &pgx.Batch{}
		p := queuePrelog(b, leaves)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, fmt.Errorf("issuance log: lookups: %w", mapErr(err))
		}
		return p, nil
	}
	p := &prelogged{n: len(leaves)}
	if err := tx.QueryRow(ctx, nextBatchQuery).Scan(&p.batch); err != nil {
		return nil, fmt.Errorf("issuance log: batch number: %w", err)
	}
	// Binary COPY encoded here (copyBinary), the values pgx would send.
	if err := copyBinary(ctx, tx, copyLookupsSQL, len(leaves), func(b []byte, i int) ([]byte, error) {
		return appendLookupRow(b, leaves[i].Hash(), p.batch, i), nil
	}); err != nil {
		return nil, fmt.Errorf("issuance log: lookups: %w", mapErr(err))
	}
	return p, nil
}

// queuePrelog queues on b a new batch number and the lookup rows of
// leaves under it, for a pipeline: the returned prelogged has its batch
// number once b has been sent.
func queuePrelog(b *pgx.Batch, leaves []tlog.HashedLeaf) *prelogged {
	p := &prelogged{n: len(leaves)}
	b.Queue(nextBatchQuery).QueryRow(func(r pgx.Row) error { return r.Scan(&p.batch) })
	b.Queue(insertLookupsCurr, leafHashes(leaves))
	return p
}

// leafHashes returns the hashes of leaves.
func leafHashes(leaves []tlog.HashedLeaf) [][]byte {
	hs := make([][]byte, len(leaves))
	for i := range leaves {
		hs[i] = leaves[i].Hash()
	}
	return hs
}

var _ tlog.Tx = (*logTx)(nil)

// scanLockedLog scans lockLogQuery's row into t.
func (t *logTx) scanLockedLog(r pgx.Row, origin string) error {
	var size int64
	var root, compact []byte
	if err := r.Scan(&t.log, &size, &root, &compact); err != nil {
		return err
	}
	st, err := store.DecodeLogState(size, root, compact)
	if err != nil {
		return err
	}
	t.origin, t.state, t.locked = origin, st, true
	return nil
}

// lockLog locks the log origin in the transaction q is in, creating its
// state row first if it has none.
func (t *logTx) lockLog(ctx context.Context, q querier, origin string) error {
	err := t.scanLockedLog(q.QueryRow(ctx, lockLogQuery, origin), origin)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err = q.Exec(ctx, createLogQuery, origin, tlog.Hasher.EmptyRoot()); err == nil {
			err = t.scanLockedLog(q.QueryRow(ctx, lockLogQuery, origin), origin)
		}
	}
	if err != nil {
		return fmt.Errorf("lock log %s: %w", origin, err)
	}
	return nil
}

// lockLogAhead queues lockLogQuery on b, for a pipeline that takes the
// lock with its other statements; after b is sent, finishLock completes
// the lock on conn when the log had no state row yet.
func (t *logTx) lockLogAhead(b *pgx.Batch, origin string) {
	b.Queue(lockLogQuery, origin).QueryRow(func(r pgx.Row) error {
		if err := t.scanLockedLog(r, origin); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("lock log %s: %w", origin, err)
		}
		return nil
	})
}

// finishLock completes lockLogAhead's lock of origin on q, in the
// transaction the pipeline opened.
func (t *logTx) finishLock(ctx context.Context, q querier, origin string) error {
	if t.locked {
		return nil
	}
	return t.lockLog(ctx, q, origin)
}

// LockLog implements tlog.Tx.
func (t *logTx) LockLog(ctx context.Context, origin string) (tlog.State, error) {
	if t.locked && t.origin == origin {
		return t.state, nil
	}
	if t.tx == nil {
		return tlog.State{}, fmt.Errorf("lock log %s: not locked ahead", origin)
	}
	if err := t.lockLog(ctx, t.tx, origin); err != nil {
		return tlog.State{}, err
	}
	return t.state, nil
}

// AppendLog implements tlog.Tx.
func (t *logTx) AppendLog(ctx context.Context, origin string, entries []tlog.Entry, nodes []tlog.Node, next tlog.State) error {
	if !t.locked || t.origin != origin {
		return fmt.Errorf("log %s: append without its lock", origin)
	}
	w, err := newLogWrite(origin, t.log, entries, nodes, next, t.refs)
	if err != nil {
		return err
	}
	if t.pre != nil {
		if t.pre.n != len(entries) {
			return fmt.Errorf("log %s: %d lookups written for %d leaves", origin, t.pre.n, len(entries))
		}
		w.pre, t.pre = t.pre, nil
	}
	if t.batch != nil {
		w.queue(t.batch)
		return nil
	}
	b := &pgx.Batch{}
	w.queue(b)
	if err := mapErr(t.tx.SendBatch(ctx, b).Close()); err != nil {
		return err
	}
	t.state = next
	return nil
}

// copyLeaves is the number of leaves from which prelogLeaves writes their
// lookup rows with COPY rather than one INSERT of an array.
const copyLeaves = 64

// logWrite is one append's rows.
type logWrite struct {
	origin   string
	log      int32
	start    int64
	leaves   []byte     // the leaves' encodings, concatenated
	hashes   [][]byte   // the leaves' hashes, for lookup rows not written before
	pre      *prelogged // the lookup rows, written before the locks
	levels   []int16
	nodeIdx  []int64
	nodeHash [][]byte
	next     tlog.State
	compact  []byte
}

func newLogWrite(origin string, log int32, entries []tlog.Entry, nodes []tlog.Node, next tlog.State, refs []store.LogRef) (*logWrite, error) {
	if refs != nil && len(refs) != len(entries) {
		return nil, fmt.Errorf("log %s: %d leaves for %d objects", origin, len(entries), len(refs))
	}
	n := len(entries)
	w := &logWrite{origin: origin, log: log, hashes: make([][]byte, n),
		next: next, start: int64(next.Size) - int64(n), leaves: make([]byte, 0, n*tlog.LeafSize)}
	// The leaves start where the log ends: the state row's size, checked
	// again by updateLogState, so that no append writes an index the log
	// already has.
	if w.start < 0 {
		return nil, fmt.Errorf("log %s: %d leaves for a tree of size %d", origin, n, next.Size)
	}
	for i, e := range entries {
		if e.Index != uint64(w.start)+uint64(i) {
			return nil, fmt.Errorf("log %s: leaf at %d, not at the log's end %d", origin, e.Index, uint64(w.start)+uint64(i))
		}
		w.leaves = e.Leaf.AppendMarshal(w.leaves)
	}
	for _, nd := range nodes {
		if nd.Level == 0 {
			// Level 0 is the leaf hash, kept in tlog_lookup.
			if nd.Index < uint64(w.start) || nd.Index-uint64(w.start) >= uint64(n) {
				return nil, fmt.Errorf("log %s: leaf hash %d without its leaf", origin, nd.Index)
			}
			w.hashes[nd.Index-uint64(w.start)] = nd.Hash
			continue
		}
		w.levels, w.nodeIdx, w.nodeHash = append(w.levels, int16(nd.Level)), append(w.nodeIdx, int64(nd.Index)), append(w.nodeHash, nd.Hash)
	}
	for i, e := range entries {
		// Append hands every leaf's hash over as a level-0 node; a leaf
		// without one is hashed here.
		if w.hashes[i] == nil {
			w.hashes[i] = e.Leaf.Hash()
		}
	}
	w.compact = bytes.Join(next.Range, nil)
	return w, nil
}

// queue queues the statements of w on b: its leaves (and their lookup
// rows if not written before), its node hashes and the new state.
func (w *logWrite) queue(b *pgx.Batch) {
	switch {
	case len(w.hashes) == 0:
	case w.pre != nil:
		b.Queue(insertBundle, w.log, w.start, w.pre.batch, w.leaves)
	default:
		b.Queue(insertBundleNext, w.log, w.start, w.leaves)
		b.Queue(insertLookupsCurr, w.hashes)
	}
	if len(w.levels) > 0 {
		b.Queue(insertHashes, w.origin, w.levels, w.nodeIdx, w.nodeHash)
	}
	b.Queue(updateLogState, w.log, int64(w.next.Size), w.next.Root, bytesOf(w.compact), w.start).Exec(func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() != 1 {
			return fmt.Errorf("log %s: state is not at size %d", w.origin, w.start)
		}
		return nil
	})
}

// appendLog appends the leaves of what tx stores to the log origin (no
// log when origin is empty), after the audit head is locked; pre is what
// prelogLeaves wrote of them before the locks (nil, nothing).
func appendLog(ctx context.Context, tx pgx.Tx, origin string, leaves []tlog.HashedLeaf, refs []store.LogRef, pre *prelogged) error {
	if origin == "" || len(leaves) == 0 {
		return nil
	}
	if _, _, err := tlog.AppendHashed(ctx, &logTx{tx: tx, refs: refs, pre: pre}, origin, leaves); err != nil {
		return fmt.Errorf("issuance log: %w", err)
	}
	return nil
}
