package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

const keyColumns = `id, department_code, public_key, private_key_pem, certificate, state, compromised_since, created_at`

func scanKey(r pgx.Row) (store.SigningKey, error) {
	var k store.SigningKey
	var since *time.Time
	err := r.Scan(&k.ID, &k.DepartmentCode, &k.PublicKey, &k.PrivateKeyPEM, &k.Certificate, &k.State, &since, &k.CreatedAt)
	k.CompromisedSince = timeOf(since)
	k.CreatedAt = k.CreatedAt.UTC()
	return k, err
}

// AddSigningKey implements store.KeyStore.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey, audit store.AuditEvent) (store.SigningKey, error) {
	if err := errors.Join(k.Validate(), audit.Validate()); err != nil {
		return store.SigningKey{}, fmt.Errorf("add signing key: %w", err)
	}
	k.CompromisedSince = time.Time{}
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		k.CreatedAt = s.clock()
		if k.State == store.KeyActive {
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET state = 'retired' WHERE department_code = $1 AND state = 'active'`,
				k.DepartmentCode); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)`,
			k.ID, k.DepartmentCode, k.PublicKey, k.PrivateKeyPEM, bytesOf(k.Certificate), k.State, k.CreatedAt)
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("add signing key %s/%s: %w", k.DepartmentCode, k.ID, err)
	}
	return k, nil
}

// SigningKey implements store.KeyStore.
func (s *Store) SigningKey(ctx context.Context, dept, id string) (store.SigningKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = $1 AND id = $2`, dept, id))
	return k, keyErr(err, dept, id)
}

// ActiveSigningKey implements store.KeyStore.
func (s *Store) ActiveSigningKey(ctx context.Context, dept string) (store.SigningKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = $1 AND state = 'active'`, dept))
	return k, keyErr(err, dept, "active")
}

func keyErr(err error, dept, id string) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("signing key %s/%s: %w", dept, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("signing key %s/%s: %w", dept, id, err)
	}
	return nil
}

// ListSigningKeys implements store.KeyStore.
func (s *Store) ListSigningKeys(ctx context.Context, dept string) ([]store.SigningKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = $1 ORDER BY created_at, id`, dept)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SigningKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list signing keys of %s: %w", dept, err)
	}
	return out, nil
}

// SetSigningKeyState implements store.KeyStore.
func (s *Store) SetSigningKeyState(ctx context.Context, dept, id string, state store.KeyState, since time.Time, audit store.AuditEvent) (store.SigningKey, error) {
	if err := audit.Validate(); err != nil {
		return store.SigningKey{}, fmt.Errorf("set signing key state: %w", err)
	}
	var k store.SigningKey
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var from store.KeyState
		err := tx.QueryRow(ctx, `SELECT state FROM signing_keys WHERE department_code = $1 AND id = $2 FOR UPDATE`, dept, id).Scan(&from)
		if err != nil {
			return keyErr(err, dept, id)
		}
		if err := store.ValidateKeyTransition(from, state, since); err != nil {
			return err
		}
		if state != store.KeyCompromised {
			since = time.Time{}
		}
		k, err = scanKey(tx.QueryRow(ctx, `UPDATE signing_keys SET state = $3, compromised_since = $4
			WHERE department_code = $1 AND id = $2 RETURNING `+keyColumns, dept, id, state, nullTime(since)))
		if err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("set state of signing key %s/%s: %w", dept, id, err)
	}
	return k, nil
}
