package issuer

import (
	"context"
	"errors"

	"elicence/issuer/store"
	"elicence/tlog"
)

// The issuance log's public side: what the routes /tlog/<code>/… serve.
// Everything is read from committed, immutable rows, so any process
// sharing the store answers the same.

// ErrNoLog reports a department without a log (unknown, or the log is
// off in this configuration). It wraps store.ErrNotFound.
var ErrNoLog = errors.Join(store.ErrNotFound, errors.New("no such issuance log"))

// LogReader returns the department's log origin and a reader of its
// committed tiles and entry bundles, or ErrNoLog.
func (s *Logs) LogReader(ctx context.Context, dept string) (string, tlog.Reader, error) {
	if err := s.hasLog(ctx, dept); err != nil {
		return "", nil, err
	}
	return s.Origin(dept), s.store, nil
}

func (s *Logs) hasLog(ctx context.Context, dept string) error {
	if s.cfg.Disabled || !store.ValidDepartmentCode(dept) {
		return ErrNoLog
	}
	if _, err := s.store.Department(ctx, dept); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoLog
		}
		return err
	}
	return nil
}

// LatestCheckpoint returns the department's latest co-signed checkpoint
// note, or store.ErrNotFound when none is signed yet.
func (s *Logs) LatestCheckpoint(ctx context.Context, dept string) ([]byte, error) {
	if err := s.hasLog(ctx, dept); err != nil {
		return nil, err
	}
	c, err := s.store.LatestCheckpoint(ctx, s.Origin(dept))
	if err != nil {
		return nil, err
	}
	return c.CosignedNote, nil
}

// CheckpointOfSize returns the department's co-signed checkpoint note of
// exactly that tree size, or store.ErrNotFound.
func (s *Logs) CheckpointOfSize(ctx context.Context, dept string, size uint64) ([]byte, error) {
	if err := s.hasLog(ctx, dept); err != nil {
		return nil, err
	}
	c, err := s.store.CheckpointOfSize(ctx, s.Origin(dept), size)
	if err != nil {
		return nil, err
	}
	return c.CosignedNote, nil
}

// Lookup finds the leaf whose RFC 9162 leaf hash is hash in the
// department's log, and the smallest co-signed checkpoint that includes
// it; store.ErrNotFound if the log has no such leaf.
func (s *Logs) Lookup(ctx context.Context, dept string, hash []byte) (store.LeafLocation, error) {
	if err := s.hasLog(ctx, dept); err != nil {
		return store.LeafLocation{}, err
	}
	return s.store.LookupLeaf(ctx, s.Origin(dept), hash)
}
