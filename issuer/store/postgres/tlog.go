package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"elicence/issuer/store"
	"elicence/tlog"
)

// The issuance log's storage seam (tlog.Tx, tlog.Reader) on PostgreSQL.
//
// An append locks the log's tlog_state row: lockLogQuery creates it on
// first use and takes it FOR UPDATE in one statement (INSERT … ON
// CONFLICT DO UPDATE locks the existing row and returns its latest
// committed version), so that appenders in several processes follow each
// other and never write the same index. Every issuing transaction takes
// the audit head first and the log's row after it, always in that order,
// so the two locks cannot deadlock. The new leaves, the node hashes of
// tree levels 8, 16, … and the new state are then written with three
// statements in one round trip (or queued on the caller's pipeline).

// lockLogQuery creates the state row of a log never appended to, locks it
// and returns it.
const lockLogQuery = `INSERT INTO tlog_state (origin, size, root, compact) VALUES ($1, 0, $2, '')
	ON CONFLICT (origin) DO UPDATE SET size = tlog_state.size
	RETURNING size, root, compact`

const insertLeaves = `INSERT INTO tlog_leaf (origin, idx, leaf, hash, licence_id, document_id)
	SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::text[], $6::text[])`

const insertHashes = `INSERT INTO tlog_hash (origin, level, idx, hash)
	SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])`

const updateLogState = `UPDATE tlog_state SET size = $2, root = $3, compact = $4 WHERE origin = $1 AND size = $5`

// logTx is the tlog.Tx of a store transaction. refs names what each leaf
// passed to tlog.Append commits to, in the same order (nil for none).
// With batch set, the state was read ahead on the caller's pipeline
// (pre) and AppendLog queues its statements on batch instead of sending
// them.
type logTx struct {
	tx    pgx.Tx
	refs  []store.LogRef
	pre   *tlog.State
	batch *pgx.Batch
}

var _ tlog.Tx = (*logTx)(nil)

// scanLogState scans size, root, compact.
func scanLogState(r pgx.Row) (tlog.State, error) {
	var size int64
	var root, compact []byte
	if err := r.Scan(&size, &root, &compact); err != nil {
		return tlog.State{}, err
	}
	return store.DecodeLogState(size, root, compact)
}

// LockLog implements tlog.Tx.
func (t *logTx) LockLog(ctx context.Context, origin string) (tlog.State, error) {
	if t.pre != nil {
		return *t.pre, nil
	}
	st, err := scanLogState(t.tx.QueryRow(ctx, lockLogQuery, origin, tlog.Hasher.EmptyRoot()))
	if err != nil {
		return tlog.State{}, fmt.Errorf("lock log %s: %w", origin, err)
	}
	return st, nil
}

// AppendLog implements tlog.Tx.
func (t *logTx) AppendLog(ctx context.Context, origin string, entries []tlog.Entry, nodes []tlog.Node, next tlog.State) error {
	w, err := newLogWrite(origin, entries, nodes, next, t.refs)
	if err != nil {
		return err
	}
	if t.batch != nil {
		w.queue(t.batch)
		return nil
	}
	if len(w.idx) >= copyLeaves {
		// A batch's leaves: COPY, as its licences were, then the rest.
		// Binary COPY encoded here (copyBinary), the values pgx would send.
		if err := copyBinary(ctx, t.tx, copyLeavesSQL, len(w.idx), func(b []byte, i int) ([]byte, error) {
			return w.appendLeafRow(b, i), nil
		}); err != nil {
			return mapErr(err)
		}
		w.idx = nil
	}
	b := &pgx.Batch{}
	w.queue(b)
	return mapErr(t.tx.SendBatch(ctx, b).Close())
}

// copyLeaves is the number of leaves from which an append writes them
// with COPY rather than one INSERT of arrays.
const copyLeaves = 64

// logWrite is one append's rows, as arrays for unnest.
type logWrite struct {
	origin         string
	idx            []int64
	leaves, hashes [][]byte
	licences, docs []*string
	levels         []int16
	nodeIdx        []int64
	nodeHashes     [][]byte
	prevSize       int64
	next           tlog.State
	compact        []byte
}

func newLogWrite(origin string, entries []tlog.Entry, nodes []tlog.Node, next tlog.State, refs []store.LogRef) (*logWrite, error) {
	if refs != nil && len(refs) != len(entries) {
		return nil, fmt.Errorf("log %s: %d leaves for %d objects", origin, len(entries), len(refs))
	}
	n := len(entries)
	w := &logWrite{origin: origin, idx: make([]int64, n), leaves: make([][]byte, n), hashes: make([][]byte, n),
		licences: make([]*string, n), docs: make([]*string, n), next: next, prevSize: int64(next.Size) - int64(n)}
	var first uint64
	if n > 0 {
		first = entries[0].Index
	}
	// One array for all the leaves' encodings.
	enc := make([]byte, 0, n*tlog.LeafSize)
	for i, e := range entries {
		if e.Index != first+uint64(i) {
			return nil, fmt.Errorf("log %s: leaves not contiguous at %d", origin, e.Index)
		}
		enc = e.Leaf.AppendMarshal(enc)
		w.idx[i], w.leaves[i] = int64(e.Index), enc[len(enc)-tlog.LeafSize:len(enc):len(enc)]
		if refs != nil {
			if id := refs[i].LicenceID; id != "" {
				w.licences[i] = &id
			}
			if id := refs[i].DocumentID; id != "" {
				w.docs[i] = &id
			}
		}
	}
	for _, nd := range nodes {
		if nd.Level == 0 {
			// Level 0 is the leaf hash, kept in tlog_leaf.
			if nd.Index < first || nd.Index-first >= uint64(n) {
				return nil, fmt.Errorf("log %s: leaf hash %d without its leaf", origin, nd.Index)
			}
			w.hashes[nd.Index-first] = nd.Hash
			continue
		}
		w.levels, w.nodeIdx, w.nodeHashes = append(w.levels, int16(nd.Level)), append(w.nodeIdx, int64(nd.Index)), append(w.nodeHashes, nd.Hash)
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

// queue queues the statements of w on b.
func (w *logWrite) queue(b *pgx.Batch) {
	if len(w.idx) > 0 {
		b.Queue(insertLeaves, w.origin, w.idx, w.leaves, w.hashes, w.licences, w.docs)
	}
	if len(w.levels) > 0 {
		b.Queue(insertHashes, w.origin, w.levels, w.nodeIdx, w.nodeHashes)
	}
	b.Queue(updateLogState, w.origin, int64(w.next.Size), w.next.Root, bytesOf(w.compact), w.prevSize).Exec(func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() != 1 {
			return fmt.Errorf("log %s: state is not at size %d", w.origin, w.prevSize)
		}
		return nil
	})
}

// appendLog appends the leaves of what tx stores to the log origin (no
// log when origin is empty), after the audit head is locked.
func appendLog(ctx context.Context, tx pgx.Tx, origin string, leaves []tlog.HashedLeaf, refs []store.LogRef) error {
	if origin == "" || len(leaves) == 0 {
		return nil
	}
	if _, _, err := tlog.AppendHashed(ctx, &logTx{tx: tx, refs: refs}, origin, leaves); err != nil {
		return fmt.Errorf("issuance log: %w", err)
	}
	return nil
}
