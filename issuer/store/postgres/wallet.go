package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

const walletLinkColumns = `id, secret_hash, holder_code, holder_name, departments, all_departments, via,
	link_department, link_token, subject, created_at, expires_at, used_at`

const walletSessionColumns = `id, secret_hash, holder_code, holder_name, departments, all_departments, via,
	link_id, link_department, link_token, subject, created_at, refreshed_at, expires_at, revoked_at`

func scanWalletLink(r pgx.Row) (store.WalletLink, error) {
	var l store.WalletLink
	var depts string
	var used *time.Time
	g := &l.Grant
	err := r.Scan(&l.ID, &l.SecretHash, &g.HolderCode, &g.HolderName, &depts, &g.AllDepartments, &g.Via,
		&g.LinkDepartment, &g.LinkToken, &g.Subject, &l.CreatedAt, &l.ExpiresAt, &used)
	g.Departments = store.SplitCodes(depts)
	g.LinkID = l.ID
	l.CreatedAt, l.ExpiresAt, l.UsedAt = l.CreatedAt.UTC(), l.ExpiresAt.UTC(), timeOf(used)
	return l, err
}

func scanWalletSession(r pgx.Row) (store.WalletSession, error) {
	var s store.WalletSession
	var depts string
	var revoked *time.Time
	g := &s.Grant
	err := r.Scan(&s.ID, &s.SecretHash, &g.HolderCode, &g.HolderName, &depts, &g.AllDepartments, &g.Via,
		&g.LinkID, &g.LinkDepartment, &g.LinkToken, &g.Subject, &s.CreatedAt, &s.RefreshedAt, &s.ExpiresAt, &revoked)
	g.Departments = store.SplitCodes(depts)
	s.CreatedAt, s.RefreshedAt, s.ExpiresAt, s.RevokedAt = s.CreatedAt.UTC(), s.RefreshedAt.UTC(), s.ExpiresAt.UTC(), timeOf(revoked)
	return s, err
}

// CreateWalletLink implements store.WalletStore.
func (s *walletStore) CreateWalletLink(ctx context.Context, l store.WalletLink, audit store.AuditEvent) (store.WalletLink, error) {
	if err := errors.Join(l.Validate(), audit.Validate()); err != nil {
		return store.WalletLink{}, fmt.Errorf("create wallet link: %w", err)
	}
	l.ExpiresAt, l.UsedAt = store.Timestamp(l.ExpiresAt), time.Time{}
	l.Grant.LinkID = l.ID
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		l.CreatedAt = s.clock()
		g := l.Grant
		_, err := tx.Exec(ctx, `INSERT INTO wallet_links (`+walletLinkColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)`,
			l.ID, l.SecretHash, g.HolderCode, g.HolderName, store.JoinCodes(g.Departments), g.AllDepartments, g.Via,
			g.LinkDepartment, g.LinkToken, g.Subject, l.CreatedAt, l.ExpiresAt)
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.WalletLink{}, fmt.Errorf("create wallet link %s: %w", l.ID, err)
	}
	return l, nil
}

// RedeemWalletLink implements store.WalletStore.
func (s *walletStore) RedeemWalletLink(ctx context.Context, hash []byte, now time.Time, build func(store.WalletLink) (store.WalletSession, store.AuditEvent, error)) (store.WalletSession, error) {
	var ws store.WalletSession
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		ts := s.clock()
		// The UPDATE takes the row lock: of two redemptions, the second
		// waits and then finds used_at set.
		l, err := scanWalletLink(tx.QueryRow(ctx, `UPDATE wallet_links SET used_at = $3
			WHERE secret_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING `+walletLinkColumns,
			hash, store.Timestamp(now), ts))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		// Links that expired a day ago are of no use to anyone: drop them.
		if _, err := tx.Exec(ctx, `DELETE FROM wallet_links WHERE expires_at < $1`, store.Timestamp(now.Add(-24*time.Hour))); err != nil {
			return err
		}
		var audit store.AuditEvent
		ws, audit, err = build(l)
		if err != nil {
			return fmt.Errorf("build session: %w", err)
		}
		if err := errors.Join(ws.Validate(), audit.Validate()); err != nil {
			return err
		}
		ws.CreatedAt, ws.RefreshedAt, ws.ExpiresAt, ws.RevokedAt = ts, ts, store.Timestamp(ws.ExpiresAt), time.Time{}
		g := ws.Grant
		_, err = tx.Exec(ctx, `INSERT INTO wallet_sessions (`+walletSessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL)`,
			ws.ID, ws.SecretHash, g.HolderCode, g.HolderName, store.JoinCodes(g.Departments), g.AllDepartments, g.Via,
			g.LinkID, g.LinkDepartment, g.LinkToken, g.Subject, ws.CreatedAt, ws.RefreshedAt, ws.ExpiresAt)
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.WalletSession{}, fmt.Errorf("redeem wallet link: %w", err)
	}
	return ws, nil
}

// WalletSessionByHash implements store.WalletStore.
func (s *walletStore) WalletSessionByHash(ctx context.Context, hash []byte) (store.WalletSession, error) {
	ws, err := scanWalletSession(s.pool.QueryRow(ctx, `SELECT `+walletSessionColumns+` FROM wallet_sessions WHERE secret_hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.WalletSession{}, fmt.Errorf("wallet session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.WalletSession{}, fmt.Errorf("wallet session: %w", err)
	}
	return ws, nil
}

// RefreshWalletSession implements store.WalletStore.
func (s *walletStore) RefreshWalletSession(ctx context.Context, id string, oldHash, newHash []byte, expires time.Time, audit store.AuditEvent) (store.WalletSession, error) {
	if err := audit.Validate(); err != nil {
		return store.WalletSession{}, fmt.Errorf("refresh wallet session: %w", err)
	}
	if len(newHash) != len(oldHash) || len(newHash) == 0 || expires.IsZero() {
		return store.WalletSession{}, fmt.Errorf("refresh wallet session: %w", store.ErrInvalid)
	}
	var ws store.WalletSession
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanWalletSession(tx.QueryRow(ctx, `SELECT `+walletSessionColumns+` FROM wallet_sessions
			WHERE id = $1 AND secret_hash = $2 FOR UPDATE`, id, oldHash))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !cur.RevokedAt.IsZero() {
			return fmt.Errorf("%w: revoked", store.ErrInvalidTransition)
		}
		ts := s.clock()
		ws, err = scanWalletSession(tx.QueryRow(ctx, `UPDATE wallet_sessions SET secret_hash = $2, refreshed_at = $3, expires_at = $4
			WHERE id = $1 RETURNING `+walletSessionColumns, id, newHash, ts, store.Timestamp(expires)))
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.WalletSession{}, fmt.Errorf("refresh wallet session %s: %w", id, err)
	}
	return ws, nil
}

// RevokeWalletSession implements store.WalletStore.
func (s *walletStore) RevokeWalletSession(ctx context.Context, id string, audit store.AuditEvent) (store.WalletSession, error) {
	if err := audit.Validate(); err != nil {
		return store.WalletSession{}, fmt.Errorf("revoke wallet session: %w", err)
	}
	var ws store.WalletSession
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUnrevoked(ctx, tx, "wallet_sessions", id); err != nil {
			return err
		}
		var err error
		ws, err = scanWalletSession(tx.QueryRow(ctx, `UPDATE wallet_sessions SET revoked_at = $2 WHERE id = $1 RETURNING `+walletSessionColumns, id, s.clock()))
		if err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.WalletSession{}, fmt.Errorf("revoke wallet session %s: %w", id, err)
	}
	return ws, nil
}
