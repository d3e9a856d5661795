package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
)

// CreateDepartment implements store.DepartmentStore.
func (s *registryStore) CreateDepartment(ctx context.Context, d store.Department, audit store.AuditEvent) (store.Department, error) {
	if err := errors.Join(d.Validate(), audit.Validate()); err != nil {
		return store.Department{}, fmt.Errorf("create department: %w", err)
	}
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		d.CreatedAt = s.clock()
		if _, err := tx.Exec(ctx, `INSERT INTO departments (code, name, created_at) VALUES ($1, $2, $3)`,
			d.Code, d.Name, d.CreatedAt); err != nil {
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

// Department implements store.DepartmentStore.
func (s *registryStore) Department(ctx context.Context, code string) (store.Department, error) {
	var d store.Department
	err := s.pool.QueryRow(ctx, `SELECT code, name, created_at FROM departments WHERE code = $1`, code).
		Scan(&d.Code, &d.Name, &d.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Department{}, fmt.Errorf("department %s: %w", code, store.ErrNotFound)
	}
	if err != nil {
		return store.Department{}, fmt.Errorf("department %s: %w", code, err)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return d, nil
}

// ListDepartments implements store.DepartmentStore.
func (s *registryStore) ListDepartments(ctx context.Context) ([]store.Department, error) {
	rows, _ := s.pool.Query(ctx, `SELECT code, name, created_at FROM departments ORDER BY code`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Department, error) {
		var d store.Department
		err := r.Scan(&d.Code, &d.Name, &d.CreatedAt)
		d.CreatedAt = d.CreatedAt.UTC()
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	return out, nil
}
