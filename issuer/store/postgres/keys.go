package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

const keyColumns = `id, department_code, public_key, private_key_pem, certificate, state, compromised_since, created_at, retired_at`

func scanKey(r pgx.Row) (store.SigningKey, error) {
	var k store.SigningKey
	var since, retired *time.Time
	err := r.Scan(&k.ID, &k.DepartmentCode, &k.PublicKey, &k.PrivateKeyPEM, &k.Certificate, &k.State, &since, &k.CreatedAt, &retired)
	k.CompromisedSince, k.RetiredAt = timeOf(since), timeOf(retired)
	k.CreatedAt = k.CreatedAt.UTC()
	if k.State != store.KeyActive {
		k.PrivateKeyPEM = nil // never usable, whatever the row holds
	}
	return k, err
}

// AddSigningKey implements store.KeyStore.
func (s *registryStore) AddSigningKey(ctx context.Context, k store.SigningKey, audit store.AuditEvent) (store.SigningKey, error) {
	if err := errors.Join(k.Validate(), audit.Validate()); err != nil {
		return store.SigningKey{}, fmt.Errorf("add signing key: %w", err)
	}
	k.CompromisedSince, k.RetiredAt = time.Time{}, time.Time{}
	destroyed := false
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		k.CreatedAt = s.clock()
		if k.State == store.KeyActive {
			tag, err := tx.Exec(ctx, `UPDATE signing_keys SET state = 'retired', private_key_pem = NULL, retired_at = $2
				WHERE department_code = $1 AND state = 'active'`, k.DepartmentCode, k.CreatedAt)
			if err != nil {
				return err
			}
			destroyed = tag.RowsAffected() > 0
		} else {
			k.PrivateKeyPEM, k.RetiredAt = nil, k.CreatedAt
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)`,
			k.ID, k.DepartmentCode, k.PublicKey, nullBytes(k.PrivateKeyPEM), bytesOf(k.Certificate), k.State, k.CreatedAt, nullTime(k.RetiredAt))
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("add signing key %s/%s: %w", k.DepartmentCode, k.ID, err)
	}
	if destroyed {
		s.scrub(ctx)
	}
	return k, nil
}

// SigningKey implements store.KeyStore.
func (s *registryStore) SigningKey(ctx context.Context, dept, id string) (store.SigningKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = $1 AND id = $2`, dept, id))
	return k, keyErr(err, dept, id)
}

// ActiveSigningKey implements store.KeyStore.
func (s *registryStore) ActiveSigningKey(ctx context.Context, dept string) (store.SigningKey, error) {
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
func (s *registryStore) ListSigningKeys(ctx context.Context, dept string) ([]store.SigningKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = $1 ORDER BY created_at, id`, dept)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SigningKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list signing keys of %s: %w", dept, err)
	}
	return out, nil
}

// SetSigningKeyState implements store.KeyStore.
func (s *registryStore) SetSigningKeyState(ctx context.Context, dept, id string, state store.KeyState, since time.Time, audit store.AuditEvent) (store.SigningKey, error) {
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
		// The private half is destroyed and the moment the key stopped
		// being active recorded (kept when a retired key is compromised).
		k, err = scanKey(tx.QueryRow(ctx, `UPDATE signing_keys SET state = $3, compromised_since = $4,
			private_key_pem = NULL, retired_at = COALESCE(retired_at, $5)
			WHERE department_code = $1 AND id = $2 RETURNING `+keyColumns, dept, id, state, nullTime(since), s.clock()))
		if err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("set state of signing key %s/%s: %w", dept, id, err)
	}
	s.scrub(ctx)
	return k, nil
}

// scrub rewrites the signing_keys table so that the dead row versions
// still holding a destroyed private key are gone from the table's files
// (PostgreSQL keeps them until a vacuum). The table holds a few rows per
// department, so the rewrite is quick, but it needs the table to itself:
// it waits at most scrubLockTimeout for issuances in flight (which hold
// their signing key's row) and gives up otherwise, leaving the dead row
// to autovacuum. It is best effort in any case: the WAL and any backup
// taken before keep their copies until they are recycled.
func (s *registryStore) scrub(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*scrubLockTimeout)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return
	}
	defer conn.Release()
	// One statement each: VACUUM cannot run in a transaction or pipeline.
	if _, err := conn.Exec(ctx, `SET lock_timeout = `+strconv.Itoa(int(scrubLockTimeout/time.Millisecond))); err != nil {
		return
	}
	conn.Exec(ctx, `VACUUM FULL signing_keys`)
	conn.Exec(ctx, `RESET lock_timeout`)
}

// scrubLockTimeout bounds how long scrub waits for the signing_keys table.
const scrubLockTimeout = 2 * time.Second
