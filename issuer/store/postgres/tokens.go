package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

const tokenColumns = `id, department_code, secret_hash, scopes, name, created_at, revoked_at`

func scanToken(r pgx.Row) (store.Token, error) {
	var t store.Token
	var dept *string
	var scopes string
	var revoked *time.Time
	err := r.Scan(&t.ID, &dept, &t.SecretHash, &scopes, &t.Name, &t.CreatedAt, &revoked)
	if dept != nil {
		t.DepartmentCode = *dept
	}
	for _, sc := range strings.Fields(scopes) {
		t.Scopes = append(t.Scopes, store.Scope(sc))
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.RevokedAt = timeOf(revoked)
	return t, err
}

func joinScopes(scopes []store.Scope) string {
	var b strings.Builder
	for i, s := range store.NormalizeScopes(scopes) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// CreateToken implements store.TokenStore.
func (s *registryStore) CreateToken(ctx context.Context, t store.Token, audit store.AuditEvent) (store.Token, error) {
	if err := errors.Join(t.Validate(), audit.Validate()); err != nil {
		return store.Token{}, fmt.Errorf("create token: %w", err)
	}
	t.Scopes = store.NormalizeScopes(t.Scopes)
	t.RevokedAt = time.Time{}
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		t.CreatedAt = s.clock()
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
			t.ID, nullString(t.DepartmentCode), t.SecretHash, joinScopes(t.Scopes), t.Name, t.CreatedAt)
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.Token{}, fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return t, nil
}

// TokenByHash implements store.TokenStore.
func (s *registryStore) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE secret_hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// ListTokens implements store.TokenStore.
func (s *registryStore) ListTokens(ctx context.Context, dept string) ([]store.Token, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE department_code IS NOT DISTINCT FROM $1 ORDER BY id`, nullString(dept))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", dept, err)
	}
	return out, nil
}

// RevokeToken implements store.TokenStore.
func (s *registryStore) RevokeToken(ctx context.Context, id string, audit store.AuditEvent) (store.Token, error) {
	if err := audit.Validate(); err != nil {
		return store.Token{}, fmt.Errorf("revoke token: %w", err)
	}
	var t store.Token
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockUnrevoked(ctx, tx, "api_tokens", id); err != nil {
			return err
		}
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 RETURNING `+tokenColumns, id, s.clock()))
		if err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.Token{}, fmt.Errorf("revoke token %s: %w", id, err)
	}
	return t, nil
}

// lockUnrevoked locks the row id of table (api_tokens or wallet_sessions)
// for the rest of tx and checks that it exists and is not revoked yet.
func lockUnrevoked(ctx context.Context, tx pgx.Tx, table, id string) error {
	var revoked *time.Time
	err := tx.QueryRow(ctx, `SELECT revoked_at FROM `+table+` WHERE id = $1 FOR UPDATE`, id).Scan(&revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	if revoked != nil {
		return fmt.Errorf("%w: already revoked", store.ErrInvalidTransition)
	}
	return nil
}
