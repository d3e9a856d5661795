package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
	"elicence/tlog"
)

// logStore is the LogStore group: it reads the logs and keeps their keys
// and checkpoints (the appends are the issuing transactions', tlog.go).
type logStore struct{ *Store }

// LogState implements tlog.Reader.
func (s *logStore) LogState(ctx context.Context, origin string) (tlog.State, error) {
	var size int64
	var root, compact []byte
	err := s.pool.QueryRow(ctx, `SELECT size, root, compact FROM tlog_state WHERE origin = $1`, origin).Scan(&size, &root, &compact)
	if errors.Is(err, pgx.ErrNoRows) {
		return tlog.State{}, nil
	}
	if err != nil {
		return tlog.State{}, fmt.Errorf("log state %s: %w", origin, err)
	}
	st, err := store.DecodeLogState(size, root, compact)
	if err != nil {
		return tlog.State{}, fmt.Errorf("log state %s: %w", origin, err)
	}
	return st, nil
}

// LogHashes implements tlog.Reader: level 0 the hashes of the leaves,
// the others from tlog_hash.
func (s *logStore) LogHashes(ctx context.Context, origin string, level uint, from, n uint64) ([][]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if !store.LogRangeValid(level, from, n) {
		return nil, tlog.ErrNotFound
	}
	if level == 0 {
		ls, err := s.LogLeaves(ctx, origin, from, n)
		if err != nil {
			return nil, err
		}
		hs := make([][]byte, len(ls))
		for i := range ls {
			hs[i] = ls[i].Hash()
		}
		return hs, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT hash FROM tlog_hash WHERE origin = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx`,
		origin, int16(level), int64(from), int64(from+n))
	hs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("log hashes %s: %w", origin, err)
	}
	if uint64(len(hs)) != n {
		return nil, tlog.ErrNotFound
	}
	return hs, nil
}

// leafRangeQuery returns the leaves of [$2, $3) of log $1 (an origin), in
// order, as the parts of the tlog_bundle rows that hold them: the row in
// which $2 falls and those starting before $3. Only the parts are read
// (the column is stored uncompressed, out of line).
const leafRangeQuery = `WITH s AS (SELECT log FROM tlog_state WHERE origin = $1)
	SELECT substring(b.leaves FROM ((greatest($2, b.start) - b.start) * 34 + 1)::integer
		FOR ((least($3, b.start + length(b.leaves) / 34) - greatest($2, b.start)) * 34)::integer)
	FROM tlog_bundle b, s
	WHERE b.log = s.log AND b.start < $3 AND b.start + length(b.leaves) / 34 > $2
		AND b.start >= (SELECT coalesce(max(start), 0) FROM tlog_bundle WHERE log = s.log AND start <= $2)
	ORDER BY b.start`

// LogLeaves implements tlog.Reader.
func (s *logStore) LogLeaves(ctx context.Context, origin string, from, n uint64) ([]tlog.Leaf, error) {
	if n == 0 {
		return nil, nil
	}
	if !store.LogRangeValid(0, from, n) {
		return nil, tlog.ErrNotFound
	}
	rows, _ := s.pool.Query(ctx, leafRangeQuery, origin, int64(from), int64(from+n))
	parts, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("log leaves %s: %w", origin, err)
	}
	out, err := store.ParseLeaves(splitLeaves(parts), n)
	if err != nil && !errors.Is(err, tlog.ErrNotFound) {
		return nil, fmt.Errorf("log leaves %s: %w", origin, err)
	}
	return out, err
}

// splitLeaves splits concatenated leaf encodings into one slice a leaf (a
// short rest is kept, for ParseLeaves to refuse).
func splitLeaves(parts [][]byte) [][]byte {
	var out [][]byte
	for _, p := range parts {
		for len(p) > tlog.LeafSize {
			out, p = append(out, p[:tlog.LeafSize:tlog.LeafSize]), p[tlog.LeafSize:]
		}
		if len(p) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// AddLogKey implements store.LogStore.
func (s *logStore) AddLogKey(ctx context.Context, k store.LogKey, audit store.AuditEvent) (store.LogKey, error) {
	if err := errors.Join(k.Validate(), audit.Validate()); err != nil {
		return store.LogKey{}, fmt.Errorf("add checkpoint key: %w", err)
	}
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		k.CreatedAt = s.clock()
		if _, err := tx.Exec(ctx, `INSERT INTO tlog_key (department_code, origin, public_key, private_key_pem, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.DepartmentCode, k.Origin, k.PublicKey, k.PrivateKeyPEM, k.CreatedAt); err != nil {
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
	err := s.pool.QueryRow(ctx, `SELECT origin, public_key, private_key_pem, created_at FROM tlog_key WHERE department_code = $1`, dept).
		Scan(&k.Origin, &k.PublicKey, &k.PrivateKeyPEM, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LogKey{}, fmt.Errorf("checkpoint key of %s: %w", dept, store.ErrNotFound)
	}
	if err != nil {
		return store.LogKey{}, fmt.Errorf("checkpoint key of %s: %w", dept, err)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return k, nil
}

// AddCheckpoint implements store.LogStore.
func (s *logStore) AddCheckpoint(ctx context.Context, c store.LogCheckpoint) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, fmt.Errorf("add checkpoint: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO tlog_checkpoint (origin, size, note, cosigned_note, signed_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin, size) DO NOTHING`,
		c.Origin, int64(c.Size), c.Note, c.CosignedNote, store.Timestamp(c.SignedAt))
	if err != nil {
		return false, fmt.Errorf("add checkpoint %s/%d: %w", c.Origin, c.Size, err)
	}
	return tag.RowsAffected() == 1, nil
}

const checkpointColumns = `origin, size, note, cosigned_note, signed_at`

func scanCheckpoint(r pgx.Row) (store.LogCheckpoint, error) {
	var c store.LogCheckpoint
	var size int64
	var at time.Time
	if err := r.Scan(&c.Origin, &size, &c.Note, &c.CosignedNote, &at); err != nil {
		return store.LogCheckpoint{}, err
	}
	c.Size, c.SignedAt = uint64(size), at.UTC()
	return c, nil
}

func checkpointErr(c store.LogCheckpoint, err error, what string) (store.LogCheckpoint, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LogCheckpoint{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.LogCheckpoint{}, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// LatestCheckpoint implements store.LogStore.
func (s *logStore) LatestCheckpoint(ctx context.Context, origin string) (store.LogCheckpoint, error) {
	c, err := scanCheckpoint(s.pool.QueryRow(ctx, `SELECT `+checkpointColumns+` FROM tlog_checkpoint
		WHERE origin = $1 AND cosigned_note IS NOT NULL ORDER BY size DESC LIMIT 1`, origin))
	return checkpointErr(c, err, "latest checkpoint of "+origin)
}

// CheckpointOfSize implements store.LogStore.
func (s *logStore) CheckpointOfSize(ctx context.Context, origin string, size uint64) (store.LogCheckpoint, error) {
	if size > 1<<62 {
		return store.LogCheckpoint{}, fmt.Errorf("checkpoint of %s: %w", origin, store.ErrNotFound)
	}
	c, err := scanCheckpoint(s.pool.QueryRow(ctx, `SELECT `+checkpointColumns+` FROM tlog_checkpoint
		WHERE origin = $1 AND size = $2 AND cosigned_note IS NOT NULL`, origin, int64(size)))
	return checkpointErr(c, err, fmt.Sprintf("checkpoint %d of %s", size, origin))
}

// LookupLeaf implements store.LogStore.
func (s *logStore) LookupLeaf(ctx context.Context, origin string, hash []byte) (store.LeafLocation, error) {
	var idx int64
	var cp *int64
	err := s.pool.QueryRow(ctx, `WITH l AS (SELECT b.start + k.pos AS idx FROM tlog_lookup k JOIN tlog_bundle b USING (batch)
			WHERE k.hash = $2 AND b.log = (SELECT log FROM tlog_state WHERE origin = $1) ORDER BY 1 LIMIT 1)
		SELECT l.idx, (SELECT min(c.size) FROM tlog_checkpoint c
			WHERE c.origin = $1 AND c.size > l.idx AND c.cosigned_note IS NOT NULL) FROM l`, origin, hash).Scan(&idx, &cp)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LeafLocation{}, fmt.Errorf("leaf in %s: %w", origin, store.ErrNotFound)
	}
	if err != nil {
		return store.LeafLocation{}, fmt.Errorf("leaf in %s: %w", origin, err)
	}
	loc := store.LeafLocation{Index: uint64(idx)}
	if cp != nil {
		loc.CheckpointSize, loc.Checkpointed = uint64(*cp), true
	}
	return loc, nil
}
