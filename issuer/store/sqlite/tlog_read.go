package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"elicence/issuer/store"
	"elicence/tlog"
)

// logStore is the LogStore group: it reads the logs and keeps their keys
// and checkpoints (the appends are the issuing transactions', tlog.go).
type logStore struct{ *Store }

// LogState implements tlog.Reader.
func (s *logStore) LogState(ctx context.Context, origin string) (tlog.State, error) {
	st, err := readLogState(ctx, s.r, origin)
	if err != nil {
		return tlog.State{}, fmt.Errorf("log state %s: %w", origin, err)
	}
	return st, nil
}

// collectBlobs reads the single BLOB column of rows.
func collectBlobs(rows *sql.Rows, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// LogHashes implements tlog.Reader: level 0 from the leaves, the others
// from tlog_hash.
func (s *logStore) LogHashes(ctx context.Context, origin string, level uint, from, n uint64) ([][]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if !store.LogRangeValid(level, from, n) {
		return nil, tlog.ErrNotFound
	}
	var hs [][]byte
	var err error
	if level == 0 {
		hs, err = collectBlobs(s.r.QueryContext(ctx, `SELECT hash FROM tlog_leaf WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`,
			origin, int64(from), int64(from+n)))
	} else {
		hs, err = collectBlobs(s.r.QueryContext(ctx, `SELECT hash FROM tlog_hash WHERE origin = ? AND level = ? AND idx >= ? AND idx < ? ORDER BY idx`,
			origin, int64(level), int64(from), int64(from+n)))
	}
	if err != nil {
		return nil, fmt.Errorf("log hashes %s: %w", origin, err)
	}
	if uint64(len(hs)) != n {
		return nil, tlog.ErrNotFound
	}
	return hs, nil
}

// LogLeaves implements tlog.Reader.
func (s *logStore) LogLeaves(ctx context.Context, origin string, from, n uint64) ([]tlog.Leaf, error) {
	if n == 0 {
		return nil, nil
	}
	if !store.LogRangeValid(0, from, n) {
		return nil, tlog.ErrNotFound
	}
	bs, err := collectBlobs(s.r.QueryContext(ctx, `SELECT leaf FROM tlog_leaf WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`,
		origin, int64(from), int64(from+n)))
	if err != nil {
		return nil, fmt.Errorf("log leaves %s: %w", origin, err)
	}
	out, err := store.ParseLeaves(bs, n)
	if err != nil && !errors.Is(err, tlog.ErrNotFound) {
		return nil, fmt.Errorf("log leaves %s: %w", origin, err)
	}
	return out, err
}

// AddLogKey implements store.LogStore.
func (s *logStore) AddLogKey(ctx context.Context, k store.LogKey, audit store.AuditEvent) (store.LogKey, error) {
	if err := errors.Join(k.Validate(), audit.Validate()); err != nil {
		return store.LogKey{}, fmt.Errorf("add checkpoint key: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		k.CreatedAt = s.clock()
		if _, err := tx.ExecContext(ctx, `INSERT INTO tlog_key (department_code, origin, public_key, private_key_pem, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.DepartmentCode, k.Origin, k.PublicKey, k.PrivateKeyPEM, micros(k.CreatedAt)); err != nil {
			return mapErr(err)
		}
		_, err := s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.LogKey{}, fmt.Errorf("add checkpoint key of %s: %w", k.DepartmentCode, err)
	}
	return k, nil
}

// LogKey implements store.LogStore.
func (s *logStore) LogKey(ctx context.Context, dept string) (store.LogKey, error) {
	k := store.LogKey{DepartmentCode: dept}
	err := s.r.QueryRowContext(ctx, `SELECT origin, public_key, private_key_pem, created_at FROM tlog_key WHERE department_code = ?`, dept).
		Scan(&k.Origin, &k.PublicKey, &k.PrivateKeyPEM, tm{&k.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.LogKey{}, fmt.Errorf("checkpoint key of %s: %w", dept, store.ErrNotFound)
	}
	if err != nil {
		return store.LogKey{}, fmt.Errorf("checkpoint key of %s: %w", dept, err)
	}
	return k, nil
}

// AddCheckpoint implements store.LogStore.
func (s *logStore) AddCheckpoint(ctx context.Context, c store.LogCheckpoint) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, fmt.Errorf("add checkpoint: %w", err)
	}
	var stored bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO tlog_checkpoint (origin, size, note, cosigned_note, signed_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin, size) DO NOTHING`,
			c.Origin, int64(c.Size), c.Note, c.CosignedNote, micros(store.Timestamp(c.SignedAt)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		stored = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("add checkpoint %s/%d: %w", c.Origin, c.Size, err)
	}
	return stored, nil
}

const checkpointColumns = `origin, size, note, cosigned_note, signed_at`

func scanCheckpoint(r *sql.Row, what string) (store.LogCheckpoint, error) {
	var c store.LogCheckpoint
	var size int64
	err := r.Scan(&c.Origin, &size, &c.Note, &c.CosignedNote, tm{&c.SignedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.LogCheckpoint{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.LogCheckpoint{}, fmt.Errorf("%s: %w", what, err)
	}
	c.Size = uint64(size)
	return c, nil
}

// LatestCheckpoint implements store.LogStore.
func (s *logStore) LatestCheckpoint(ctx context.Context, origin string) (store.LogCheckpoint, error) {
	return scanCheckpoint(s.r.QueryRowContext(ctx, `SELECT `+checkpointColumns+` FROM tlog_checkpoint
		WHERE origin = ? AND cosigned_note IS NOT NULL ORDER BY size DESC LIMIT 1`, origin), "latest checkpoint of "+origin)
}

// CheckpointOfSize implements store.LogStore.
func (s *logStore) CheckpointOfSize(ctx context.Context, origin string, size uint64) (store.LogCheckpoint, error) {
	if size > 1<<62 {
		return store.LogCheckpoint{}, fmt.Errorf("checkpoint of %s: %w", origin, store.ErrNotFound)
	}
	return scanCheckpoint(s.r.QueryRowContext(ctx, `SELECT `+checkpointColumns+` FROM tlog_checkpoint
		WHERE origin = ? AND size = ? AND cosigned_note IS NOT NULL`, origin, int64(size)), fmt.Sprintf("checkpoint %d of %s", size, origin))
}

// LookupLeaf implements store.LogStore.
func (s *logStore) LookupLeaf(ctx context.Context, origin string, hash []byte) (store.LeafLocation, error) {
	var idx int64
	var cp sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT l.idx, (SELECT min(c.size) FROM tlog_checkpoint c
			WHERE c.origin = l.origin AND c.size > l.idx AND c.cosigned_note IS NOT NULL)
		FROM tlog_leaf l WHERE l.hash = ? AND l.origin = ? ORDER BY l.idx LIMIT 1`, hash, origin).Scan(&idx, &cp)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LeafLocation{}, fmt.Errorf("leaf in %s: %w", origin, store.ErrNotFound)
	}
	if err != nil {
		return store.LeafLocation{}, fmt.Errorf("leaf in %s: %w", origin, err)
	}
	loc := store.LeafLocation{Index: uint64(idx)}
	if cp.Valid {
		loc.CheckpointSize, loc.Checkpointed = uint64(cp.Int64), true
	}
	return loc, nil
}
