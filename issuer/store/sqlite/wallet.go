package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"elicence/issuer/store"
)

const walletLinkColumns = `id, secret_hash, holder_code, holder_name, departments, all_departments, via,
	link_department, link_token, subject, created_at, expires_at, used_at`

const walletSessionColumns = `id, secret_hash, holder_code, holder_name, departments, all_departments, via,
	link_id, link_department, link_token, subject, created_at, refreshed_at, expires_at, revoked_at`

func scanWalletLink(r interface{ Scan(...any) error }) (store.WalletLink, error) {
	var l store.WalletLink
	var depts string
	g := &l.Grant
	err := r.Scan(&l.ID, &l.SecretHash, &g.HolderCode, &g.HolderName, &depts, &g.AllDepartments, &g.Via,
		&g.LinkDepartment, &g.LinkToken, &g.Subject, tm{&l.CreatedAt}, tm{&l.ExpiresAt}, tm{&l.UsedAt})
	g.Departments = store.SplitCodes(depts)
	g.LinkID = l.ID
	return l, err
}

func scanWalletSession(r interface{ Scan(...any) error }) (store.WalletSession, error) {
	var s store.WalletSession
	var depts string
	g := &s.Grant
	err := r.Scan(&s.ID, &s.SecretHash, &g.HolderCode, &g.HolderName, &depts, &g.AllDepartments, &g.Via,
		&g.LinkID, &g.LinkDepartment, &g.LinkToken, &g.Subject, tm{&s.CreatedAt}, tm{&s.RefreshedAt}, tm{&s.ExpiresAt}, tm{&s.RevokedAt})
	g.Departments = store.SplitCodes(depts)
	return s, err
}

// CreateWalletLink implements store.WalletStore.
func (s *walletStore) CreateWalletLink(ctx context.Context, l store.WalletLink, audit store.AuditEvent) (store.WalletLink, error) {
	if err := errors.Join(l.Validate(), audit.Validate()); err != nil {
		return store.WalletLink{}, fmt.Errorf("create wallet link: %w", err)
	}
	l.ExpiresAt, l.UsedAt = store.Timestamp(l.ExpiresAt), time.Time{}
	l.Grant.LinkID = l.ID
	err := s.write(ctx, func(tx *sql.Tx) error {
		l.CreatedAt = s.clock()
		g := l.Grant
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_links (`+walletLinkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			l.ID, l.SecretHash, g.HolderCode, g.HolderName, store.JoinCodes(g.Departments), g.AllDepartments, g.Via,
			g.LinkDepartment, g.LinkToken, g.Subject, micros(l.CreatedAt), micros(l.ExpiresAt))
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		l, err := scanWalletLink(tx.QueryRowContext(ctx, `SELECT `+walletLinkColumns+` FROM wallet_links
			WHERE secret_hash = ? AND used_at IS NULL AND expires_at > ?`, hash, micros(store.Timestamp(now))))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		// Links that expired a day ago are of no use to anyone: drop them.
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_links WHERE expires_at < ?`, micros(store.Timestamp(now.Add(-24*time.Hour)))); err != nil {
			return err
		}
		ts := s.clock()
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_links SET used_at = ? WHERE id = ?`, micros(ts), l.ID); err != nil {
			return err
		}
		l.UsedAt = ts
		var audit store.AuditEvent
		ws, audit, err = build(l)
		if err != nil {
			return fmt.Errorf("build session: %w", err)
		}
		if err := errors.Join(ws.Validate(), audit.Validate()); err != nil {
			return err
		}
		ws.CreatedAt, ws.RefreshedAt, ws.ExpiresAt, ws.RevokedAt = ts, ts, store.Timestamp(ws.ExpiresAt), time.Time{}
		if err := insertWalletSession(ctx, tx, ws); err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.WalletSession{}, fmt.Errorf("redeem wallet link: %w", err)
	}
	return ws, nil
}

func insertWalletSession(ctx context.Context, tx *sql.Tx, ws store.WalletSession) error {
	g := ws.Grant
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_sessions (`+walletSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		ws.ID, ws.SecretHash, g.HolderCode, g.HolderName, store.JoinCodes(g.Departments), g.AllDepartments, g.Via,
		g.LinkID, g.LinkDepartment, g.LinkToken, g.Subject, micros(ws.CreatedAt), micros(ws.RefreshedAt), micros(ws.ExpiresAt))
	return mapErr(err)
}

// WalletSessionByHash implements store.WalletStore.
func (s *walletStore) WalletSessionByHash(ctx context.Context, hash []byte) (store.WalletSession, error) {
	ws, err := scanWalletSession(s.r.QueryRowContext(ctx, `SELECT `+walletSessionColumns+` FROM wallet_sessions WHERE secret_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanWalletSession(tx.QueryRowContext(ctx, `SELECT `+walletSessionColumns+` FROM wallet_sessions WHERE id = ? AND secret_hash = ?`, id, oldHash))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !cur.RevokedAt.IsZero() {
			return fmt.Errorf("%w: revoked", store.ErrInvalidTransition)
		}
		ts := s.clock()
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_sessions SET secret_hash = ?, refreshed_at = ?, expires_at = ? WHERE id = ?`,
			newHash, micros(ts), micros(store.Timestamp(expires)), id); err != nil {
			return mapErr(err)
		}
		cur.SecretHash, cur.RefreshedAt, cur.ExpiresAt = newHash, ts, store.Timestamp(expires)
		ws = cur
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanWalletSession(tx.QueryRowContext(ctx, `SELECT `+walletSessionColumns+` FROM wallet_sessions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !cur.RevokedAt.IsZero() {
			return fmt.Errorf("%w: already revoked", store.ErrInvalidTransition)
		}
		ts := s.clock()
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_sessions SET revoked_at = ? WHERE id = ?`, micros(ts), id); err != nil {
			return err
		}
		cur.RevokedAt = ts
		ws = cur
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.WalletSession{}, fmt.Errorf("revoke wallet session %s: %w", id, err)
	}
	return ws, nil
}
