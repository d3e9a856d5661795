package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"elicence/issuer/store"
)

// CreateDepartment implements store.DepartmentStore.
func (s *registryStore) CreateDepartment(ctx context.Context, d store.Department, audit store.AuditEvent) (store.Department, error) {
	if err := errors.Join(d.Validate(), audit.Validate()); err != nil {
		return store.Department{}, fmt.Errorf("create department: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		d.CreatedAt = s.clock()
		if _, err := tx.ExecContext(ctx, `INSERT INTO departments (code, name, created_at) VALUES (?, ?, ?)`,
			d.Code, d.Name, micros(d.CreatedAt)); err != nil {
			return mapErr(err)
		}
		_, err := s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.Department{}, fmt.Errorf("create department %s: %w", d.Code, err)
	}
	return d, nil
}

func scanDepartment(r interface{ Scan(...any) error }) (store.Department, error) {
	var d store.Department
	err := r.Scan(&d.Code, &d.Name, tm{&d.CreatedAt})
	return d, err
}

// Department implements store.DepartmentStore.
func (s *registryStore) Department(ctx context.Context, code string) (store.Department, error) {
	d, err := scanDepartment(s.r.QueryRowContext(ctx, `SELECT code, name, created_at FROM departments WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Department{}, fmt.Errorf("department %s: %w", code, store.ErrNotFound)
	}
	if err != nil {
		return store.Department{}, fmt.Errorf("department %s: %w", code, err)
	}
	return d, nil
}

// ListDepartments implements store.DepartmentStore.
func (s *registryStore) ListDepartments(ctx context.Context) ([]store.Department, error) {
	out, err := collect(ctx, s.r, scanDepartment, `SELECT code, name, created_at FROM departments ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	return out, nil
}

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, q queryer, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const keyColumns = `id, department_code, public_key, private_key_pem, certificate, state, compromised_since, created_at, retired_at`

func scanKey(r interface{ Scan(...any) error }) (store.SigningKey, error) {
	var k store.SigningKey
	var state string
	err := r.Scan(&k.ID, &k.DepartmentCode, &k.PublicKey, &k.PrivateKeyPEM, &k.Certificate, &state, tm{&k.CompromisedSince}, tm{&k.CreatedAt}, tm{&k.RetiredAt})
	k.State = store.KeyState(state)
	if k.State != store.KeyActive {
		k.PrivateKeyPEM = nil // never usable, whatever the row holds
	}
	return k, err
}

func keyErr(err error, dept, id string) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("signing key %s/%s: %w", dept, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("signing key %s/%s: %w", dept, id, err)
	}
	return nil
}

// AddSigningKey implements store.KeyStore.
func (s *registryStore) AddSigningKey(ctx context.Context, k store.SigningKey, audit store.AuditEvent) (store.SigningKey, error) {
	if err := errors.Join(k.Validate(), audit.Validate()); err != nil {
		return store.SigningKey{}, fmt.Errorf("add signing key: %w", err)
	}
	k.CompromisedSince, k.RetiredAt = time.Time{}, time.Time{}
	destroyed := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		k.CreatedAt = s.clock()
		if k.State == store.KeyActive {
			res, err := tx.ExecContext(ctx, `UPDATE signing_keys SET state = 'retired', private_key_pem = NULL, retired_at = ?
				WHERE department_code = ? AND state = 'active'`, micros(k.CreatedAt), k.DepartmentCode)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			destroyed = n > 0
		} else {
			k.PrivateKeyPEM, k.RetiredAt = nil, k.CreatedAt
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
			k.ID, k.DepartmentCode, k.PublicKey, nullBytes(k.PrivateKeyPEM), bytesOf(k.Certificate), string(k.State), micros(k.CreatedAt), micros(k.RetiredAt))
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
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = ? AND id = ?`, dept, id))
	return k, keyErr(err, dept, id)
}

// ActiveSigningKey implements store.KeyStore.
func (s *registryStore) ActiveSigningKey(ctx context.Context, dept string) (store.SigningKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = ? AND state = 'active'`, dept))
	return k, keyErr(err, dept, "active")
}

// ListSigningKeys implements store.KeyStore.
func (s *registryStore) ListSigningKeys(ctx context.Context, dept string) ([]store.SigningKey, error) {
	out, err := collect(ctx, s.r, scanKey, `SELECT `+keyColumns+` FROM signing_keys WHERE department_code = ? ORDER BY created_at, id`, dept)
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		var from string
		err := tx.QueryRowContext(ctx, `SELECT state FROM signing_keys WHERE department_code = ? AND id = ?`, dept, id).Scan(&from)
		if err != nil {
			return keyErr(err, dept, id)
		}
		if err := store.ValidateKeyTransition(store.KeyState(from), state, since); err != nil {
			return err
		}
		if state != store.KeyCompromised {
			since = time.Time{}
		}
		// The private half is destroyed and the moment the key stopped
		// being active recorded (kept when a retired key is compromised).
		k, err = scanKey(tx.QueryRowContext(ctx, `UPDATE signing_keys SET state = ?, compromised_since = ?,
			private_key_pem = NULL, retired_at = COALESCE(retired_at, ?)
			WHERE department_code = ? AND id = ? RETURNING `+keyColumns, string(state), micros(store.Timestamp(since)), micros(s.clock()), dept, id))
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

// scrub moves what the write-ahead log holds into the database file and
// empties the log, so that the destroyed private key (zeroed in its page:
// the writer runs with secure_delete) leaves no copy in the WAL either.
// It is best effort: a checkpoint cannot finish while a reader holds an
// old snapshot, and the next checkpoint then completes it.
func (s *registryStore) scrub(ctx context.Context) {
	s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
}

const tokenColumns = `id, department_code, secret_hash, scopes, name, created_at, revoked_at`

func scanToken(r interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var scopes string
	err := r.Scan(&t.ID, nstr{&t.DepartmentCode}, &t.SecretHash, &scopes, &t.Name, tm{&t.CreatedAt}, tm{&t.RevokedAt})
	for _, sc := range strings.Fields(scopes) {
		t.Scopes = append(t.Scopes, store.Scope(sc))
	}
	return t, err
}

func joinScopes(scopes []store.Scope) string {
	var parts []string
	for _, s := range store.NormalizeScopes(scopes) {
		parts = append(parts, string(s))
	}
	return strings.Join(parts, " ")
}

// CreateToken implements store.TokenStore.
func (s *registryStore) CreateToken(ctx context.Context, t store.Token, audit store.AuditEvent) (store.Token, error) {
	if err := errors.Join(t.Validate(), audit.Validate()); err != nil {
		return store.Token{}, fmt.Errorf("create token: %w", err)
	}
	t.Scopes = store.NormalizeScopes(t.Scopes)
	t.RevokedAt = time.Time{}
	err := s.write(ctx, func(tx *sql.Tx) error {
		t.CreatedAt = s.clock()
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
			t.ID, nullString(t.DepartmentCode), t.SecretHash, joinScopes(t.Scopes), t.Name, micros(t.CreatedAt))
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
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE secret_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// ListTokens implements store.TokenStore.
func (s *registryStore) ListTokens(ctx context.Context, dept string) ([]store.Token, error) {
	out, err := collect(ctx, s.r, scanToken, `SELECT `+tokenColumns+` FROM api_tokens WHERE department_code IS ? ORDER BY id`, nullString(dept))
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_tokens WHERE id = ?`, id).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if revoked.Valid {
			return fmt.Errorf("%w: already revoked", store.ErrInvalidTransition)
		}
		t, err = scanToken(tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? RETURNING `+tokenColumns,
			micros(s.clock()), id))
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

const typeColumns = `code, name, authority, field_definitions, default_validity_days, created_at`

func scanType(r interface{ Scan(...any) error }) (store.LicenceType, error) {
	var lt store.LicenceType
	err := r.Scan(&lt.Code, &lt.Name, &lt.Authority, &lt.FieldDefinitions, &lt.DefaultValidityDays, tm{&lt.CreatedAt})
	return lt, err
}

// CreateLicenceType implements store.LicenceTypeStore.
func (s *registryStore) CreateLicenceType(ctx context.Context, lt store.LicenceType, audit store.AuditEvent) (store.LicenceType, error) {
	if err := errors.Join(lt.Validate(), audit.Validate()); err != nil {
		return store.LicenceType{}, fmt.Errorf("create licence type: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		lt.CreatedAt = s.clock()
		_, err := tx.ExecContext(ctx, `INSERT INTO licence_types (`+typeColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			lt.Code, lt.Name, lt.Authority, lt.FieldDefinitions, lt.DefaultValidityDays, micros(lt.CreatedAt))
		if err != nil {
			return mapErr(err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return store.LicenceType{}, fmt.Errorf("create licence type %s: %w", lt.Code, err)
	}
	return lt, nil
}

// LicenceType implements store.LicenceTypeStore.
func (s *registryStore) LicenceType(ctx context.Context, code string) (store.LicenceType, error) {
	lt, err := scanType(s.r.QueryRowContext(ctx, `SELECT `+typeColumns+` FROM licence_types WHERE code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return store.LicenceType{}, fmt.Errorf("licence type %s: %w", code, store.ErrNotFound)
	}
	if err != nil {
		return store.LicenceType{}, fmt.Errorf("licence type %s: %w", code, err)
	}
	return lt, nil
}

// ListLicenceTypes implements store.LicenceTypeStore.
func (s *registryStore) ListLicenceTypes(ctx context.Context) ([]store.LicenceType, error) {
	out, err := collect(ctx, s.r, scanType, `SELECT `+typeColumns+` FROM licence_types ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list licence types: %w", err)
	}
	return out, nil
}

// Authorise implements store.LicenceTypeStore.
func (s *registryStore) Authorise(ctx context.Context, dept, typeCode string, audit store.AuditEvent) error {
	if err := audit.Validate(); err != nil {
		return fmt.Errorf("authorise: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO type_authorisations (department_code, type_code) VALUES (?, ?)`, dept, typeCode); err != nil {
			return mapErr(err)
		}
		_, err := s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return fmt.Errorf("authorise %s for %s: %w", dept, typeCode, err)
	}
	return nil
}

// Deauthorise implements store.LicenceTypeStore.
func (s *registryStore) Deauthorise(ctx context.Context, dept, typeCode string, audit store.AuditEvent) error {
	if err := audit.Validate(); err != nil {
		return fmt.Errorf("deauthorise: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM type_authorisations WHERE department_code = ? AND type_code = ?`, dept, typeCode)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(store.ErrNotFound, err)
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return fmt.Errorf("deauthorise %s for %s: %w", dept, typeCode, err)
	}
	return nil
}

func isAuthorised(ctx context.Context, q queryer, dept, typeCode string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM type_authorisations WHERE department_code = ? AND type_code = ?)`,
		dept, typeCode).Scan(&ok)
	return ok, err
}

// IsAuthorised implements store.LicenceTypeStore.
func (s *registryStore) IsAuthorised(ctx context.Context, dept, typeCode string) (bool, error) {
	ok, err := isAuthorised(ctx, s.r, dept, typeCode)
	if err != nil {
		return false, fmt.Errorf("is %s authorised for %s: %w", dept, typeCode, err)
	}
	return ok, nil
}

// ListDepartmentTypes implements store.LicenceTypeStore.
func (s *registryStore) ListDepartmentTypes(ctx context.Context, dept string) ([]store.LicenceType, error) {
	out, err := collect(ctx, s.r, scanType, `SELECT t.code, t.name, t.authority, t.field_definitions, t.default_validity_days, t.created_at
		FROM licence_types t JOIN type_authorisations a ON a.type_code = t.code
		WHERE a.department_code = ? ORDER BY t.code`, dept)
	if err != nil {
		return nil, fmt.Errorf("list licence types of %s: %w", dept, err)
	}
	return out, nil
}
