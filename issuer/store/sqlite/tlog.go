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

// The issuance log's storage seam (tlog.Tx, tlog.Reader) on SQLite. Write
// transactions run one at a time on the single writer connection (BEGIN
// IMMEDIATE), so LockLog is a plain read: nobody else can append until the
// transaction ends.

// logTx is the tlog.Tx of a write transaction. refs names what each leaf
// passed to tlog.Append commits to, in the same order (nil for none).
type logTx struct {
	tx   *sql.Tx
	refs []store.LogRef
}

var _ tlog.Tx = (*logTx)(nil)

// LockLog implements tlog.Tx.
func (t *logTx) LockLog(ctx context.Context, origin string) (tlog.State, error) {
	st, err := readLogState(ctx, t.tx, origin)
	if err != nil {
		return tlog.State{}, fmt.Errorf("lock log %s: %w", origin, err)
	}
	return st, nil
}

func readLogState(ctx context.Context, q queryer, origin string) (tlog.State, error) {
	var size int64
	var root, compact []byte
	err := q.QueryRowContext(ctx, `SELECT size, root, compact FROM tlog_state WHERE origin = ?`, origin).Scan(&size, &root, &compact)
	if errors.Is(err, sql.ErrNoRows) {
		return tlog.State{}, nil
	}
	if err != nil {
		return tlog.State{}, err
	}
	return store.DecodeLogState(size, root, compact)
}

// AppendLog implements tlog.Tx.
func (t *logTx) AppendLog(ctx context.Context, origin string, entries []tlog.Entry, nodes []tlog.Node, next tlog.State) error {
	if t.refs != nil && len(t.refs) != len(entries) {
		return fmt.Errorf("log %s: %d leaves for %d objects", origin, len(entries), len(t.refs))
	}
	hashes := map[uint64][]byte{}
	leaf, err := t.tx.PrepareContext(ctx, `INSERT INTO tlog_leaf (origin, idx, leaf, hash, licence_id, document_id) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer leaf.Close()
	node, err := t.tx.PrepareContext(ctx, `INSERT INTO tlog_hash (origin, level, idx, hash) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer node.Close()
	for _, n := range nodes {
		if n.Level == 0 {
			// Level 0 is the leaf hash, kept in tlog_leaf.
			hashes[n.Index] = n.Hash
			continue
		}
		if _, err := node.ExecContext(ctx, origin, int64(n.Level), int64(n.Index), n.Hash); err != nil {
			return mapErr(err)
		}
	}
	for i, e := range entries {
		h := e.Leaf.Hash()
		if got, ok := hashes[e.Index]; ok && !bytes.Equal(got, h) {
			return fmt.Errorf("log %s: leaf hash %d does not match its leaf", origin, e.Index)
		}
		var lic, doc any
		if t.refs != nil {
			lic, doc = nullString(t.refs[i].LicenceID), nullString(t.refs[i].DocumentID)
		}
		if _, err := leaf.ExecContext(ctx, origin, int64(e.Index), e.Leaf.Marshal(), h, lic, doc); err != nil {
			return mapErr(err)
		}
	}
	prev := int64(next.Size) - int64(len(entries))
	compact := bytes.Join(next.Range, nil)
	if compact == nil {
		compact = []byte{}
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO tlog_state (origin, size, root, compact) VALUES (?, ?, ?, ?)
		ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, compact = excluded.compact
		WHERE tlog_state.size = ?`, origin, int64(next.Size), next.Root, compact, prev)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, fmt.Errorf("log %s: state is not at size %d", origin, prev))
	}
	return nil
}

// appendLog appends the leaves of what tx stores to the log origin (no
// log when origin is empty).
func appendLog(ctx context.Context, tx *sql.Tx, origin string, leaves []tlog.HashedLeaf, refs []store.LogRef) error {
	if origin == "" || len(leaves) == 0 {
		return nil
	}
	if _, _, err := tlog.AppendHashed(ctx, &logTx{tx: tx, refs: refs}, origin, leaves); err != nil {
		return fmt.Errorf("issuance log: %w", err)
	}
	return nil
}
