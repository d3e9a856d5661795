package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

const typeColumns = `code, name, authority, field_definitions, default_validity_days, created_at`

func scanType(r pgx.Row) (store.LicenceType, error) {
	var lt store.LicenceType
	err := r.Scan(&lt.Code, &lt.Name, &lt.Authority, &lt.FieldDefinitions, &lt.DefaultValidityDays, &lt.CreatedAt)
	lt.CreatedAt = lt.CreatedAt.UTC()
	return lt, err
}

// CreateLicenceType implements store.LicenceTypeStore.
func (s *registryStore) CreateLicenceType(ctx context.Context, lt store.LicenceType, audit store.AuditEvent) (store.LicenceType, error) {
	if err := errors.Join(lt.Validate(), audit.Validate()); err != nil {
		return store.LicenceType{}, fmt.Errorf("create licence type: %w", err)
	}
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		lt.CreatedAt = s.clock()
		_, err := tx.Exec(ctx, `INSERT INTO licence_types (`+typeColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			lt.Code, lt.Name, lt.Authority, lt.FieldDefinitions, lt.DefaultValidityDays, lt.CreatedAt)
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
	lt, err := scanType(s.pool.QueryRow(ctx, `SELECT `+typeColumns+` FROM licence_types WHERE code = $1`, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LicenceType{}, fmt.Errorf("licence type %s: %w", code, store.ErrNotFound)
	}
	if err != nil {
		return store.LicenceType{}, fmt.Errorf("licence type %s: %w", code, err)
	}
	return lt, nil
}

// ListLicenceTypes implements store.LicenceTypeStore.
func (s *registryStore) ListLicenceTypes(ctx context.Context) ([]store.LicenceType, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+typeColumns+` FROM licence_types ORDER BY code`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LicenceType, error) { return scanType(r) })
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
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO type_authorisations (department_code, type_code) VALUES ($1, $2)`, dept, typeCode); err != nil {
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
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM type_authorisations WHERE department_code = $1 AND type_code = $2`, dept, typeCode)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = s.appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return fmt.Errorf("deauthorise %s for %s: %w", dept, typeCode, err)
	}
	return nil
}

// IsAuthorised implements store.LicenceTypeStore.
func (s *registryStore) IsAuthorised(ctx context.Context, dept, typeCode string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM type_authorisations WHERE department_code = $1 AND type_code = $2)`,
		dept, typeCode).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("is %s authorised for %s: %w", dept, typeCode, err)
	}
	return ok, nil
}

// ListDepartmentTypes implements store.LicenceTypeStore.
func (s *registryStore) ListDepartmentTypes(ctx context.Context, dept string) ([]store.LicenceType, error) {
	rows, _ := s.pool.Query(ctx, `SELECT t.code, t.name, t.authority, t.field_definitions, t.default_validity_days, t.created_at
		FROM licence_types t JOIN type_authorisations a ON a.type_code = t.code
		WHERE a.department_code = $1 ORDER BY t.code`, dept)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LicenceType, error) { return scanType(r) })
	if err != nil {
		return nil, fmt.Errorf("list licence types of %s: %w", dept, err)
	}
	return out, nil
}
