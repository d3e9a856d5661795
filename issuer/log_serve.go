package issuer

import (
	"context"
	"fmt"

	"elicence/issuer/store"
	"elicence/tlog"
)

// The issuance log's public side: what the routes /tlog/<code>/… serve.
// Everything is read from committed, immutable rows, so any process
// sharing the store answers the same.

// ErrNoLog reports a department without a log (unknown, or the log is
// off in this configuration). It wraps store.ErrNotFound.
var ErrNoLog = fmt.Errorf("no such issuance log: %w", store.ErrNotFound)

// LogReader returns the department's log origin and a reader of its
// committed tiles and entry bundles, or ErrNoLog.
func (s *Logs) LogReader(ctx context.Context, dept string) (string, tlog.Reader, error) {
	origin, err := s.servedOrigin(ctx, dept)
	return origin, s.store, err
}

// servedOrigin returns the origin of a department's log that exists, or
// ErrNoLog; it makes nothing.
func (s *Logs) servedOrigin(ctx context.Context, dept string) (string, error) {
	if s.cfg.Disabled || !store.ValidDepartmentCode(dept) {
		return "", ErrNoLog
	}
	k, err := s.logKey(ctx, dept, false)
	if err != nil {
		return "", err
	}
	return k.Origin, nil
}

// LatestCheckpoint returns the department's latest co-signed checkpoint
// note, or store.ErrNotFound when none is signed yet.
func (s *Logs) LatestCheckpoint(ctx context.Context, dept string) ([]byte, error) {
	origin, err := s.servedOrigin(ctx, dept)
	if err != nil {
		return nil, err
	}
	c, err := s.store.LatestCheckpoint(ctx, origin)
	if err != nil {
		return nil, err
	}
	return c.CosignedNote, nil
}

// CheckpointOfSize returns the department's co-signed checkpoint note of
// exactly that tree size, or store.ErrNotFound.
func (s *Logs) CheckpointOfSize(ctx context.Context, dept string, size uint64) ([]byte, error) {
	origin, err := s.servedOrigin(ctx, dept)
	if err != nil {
		return nil, err
	}
	c, err := s.store.CheckpointOfSize(ctx, origin, size)
	if err != nil {
		return nil, err
	}
	return c.CosignedNote, nil
}

// Lookup finds the leaf whose RFC 9162 leaf hash is hash in the
// department's log, and the smallest co-signed checkpoint that includes
// it; store.ErrNotFound if the log has no such leaf.
func (s *Logs) Lookup(ctx context.Context, dept string, hash []byte) (store.LeafLocation, error) {
	origin, err := s.servedOrigin(ctx, dept)
	if err != nil {
		return store.LeafLocation{}, err
	}
	return s.store.LookupLeaf(ctx, origin, hash)
}
