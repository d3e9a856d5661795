package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"elicence/issuer/store"
	"elicence/issuer/store/storetest"
)

// testListSize keeps status lists small so that the suite crosses list
// boundaries quickly.
const testListSize = 64

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Config{Path: path, listSize: testListSize})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// tamperStore lets the suite damage the audit log, which the store's API
// cannot do and the database's triggers refuse.
type tamperStore struct{ *Store }

func (s tamperStore) tamper(ctx context.Context, trigger, create, query string, args ...any) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+trigger); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("changed %d audit entries, want 1", n)
		}
		_, err = tx.ExecContext(ctx, create)
		return err
	})
}

func (s tamperStore) TamperAuditDetail(ctx context.Context, seq int64, detail []byte) error {
	return s.tamper(ctx, "audit_log_no_update",
		`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END`,
		`UPDATE audit_log SET detail = ? WHERE seq = ?`, detail, seq)
}

func (s tamperStore) DeleteAudit(ctx context.Context, seq int64) error {
	return s.tamper(ctx, "audit_log_no_delete",
		`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END`,
		`DELETE FROM audit_log WHERE seq = ?`, seq)
}

func (s tamperStore) RawPrivateKey(ctx context.Context, dept, id string) ([]byte, bool, error) {
	var pem []byte
	var isNull bool
	err := s.w.QueryRowContext(ctx, `SELECT private_key_pem, private_key_pem IS NULL FROM signing_keys WHERE department_code = ? AND id = ?`,
		dept, id).Scan(&pem, &isNull)
	return pem, isNull, err
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return tamperStore{openTest(t, filepath.Join(t.TempDir(), "issuer.db"))}
	})
}

// TestSettings checks the connection settings the package promises.
func TestSettings(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "issuer.db"))
	ctx := t.Context()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var fk, timeout int
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil || timeout < 1000 {
			t.Errorf("busy_timeout = %d, %v", timeout, err)
		}
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
	if _, err := s.r.ExecContext(ctx, `INSERT INTO departments (code, name, created_at) VALUES ('X', 'x', 0)`); err == nil {
		t.Error("read pool accepted a write")
	}
}

// TestAuditAppendOnly shows the database itself refuses to change or
// remove audit entries.
func TestAuditAppendOnly(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "issuer.db"))
	ctx := t.Context()
	if _, err := s.AppendAudit(ctx, store.AuditEvent{Actor: "operator", Action: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET actor = 'mallory'`, `DELETE FROM audit_log`, `DELETE FROM audit_head`} {
		_, err := s.w.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want refusal", q, err)
		}
	}
	if bad, err := s.VerifyChain(ctx); bad != 0 || err != nil {
		t.Errorf("VerifyChain = %d, %v", bad, err)
	}
}

// TestReadsDuringWrites keeps readers busy while many writers issue; no
// call may fail with SQLITE_BUSY.
func TestReadsDuringWrites(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "issuer.db"))
	ctx := t.Context()
	ev := store.AuditEvent{Actor: "operator", Action: "setup"}
	if _, err := s.CreateDepartment(ctx, store.Department{Code: "D1", Name: "d"}, ev); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.VerifyChain(ctx); err != nil {
					t.Errorf("VerifyChain: %v", err)
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for i := range 40 {
		writers.Go(func() {
			if _, err := s.AppendAudit(ctx, store.AuditEvent{Actor: "operator", Action: "test", Subject: fmt.Sprint(i)}); err != nil {
				t.Errorf("AppendAudit: %v", err)
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
}

// TestOpenAgain shows reopening applies no migration twice and keeps data.
func TestOpenAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	s := openTest(t, path)
	if _, err := s.CreateDepartment(t.Context(), store.Department{Code: "D1", Name: "d"}, store.AuditEvent{Actor: "o", Action: "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openTest(t, path)
	if _, err := s2.Department(t.Context(), "D1"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(t.Context(), Config{Path: filepath.Join(dir, "a.db"), StatusListSize: store.MinStatusListSize - 1}); err == nil {
		t.Error("Open accepted a status list size below the minimum")
	}
	for _, path := range []string{"", filepath.Join(dir, "a?b.db")} {
		if _, err := Open(t.Context(), Config{Path: path}); err == nil {
			t.Errorf("Open accepted path %q", path)
		}
	}
	s, err := Open(t.Context(), Config{Path: filepath.Join(dir, "with space.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.listSize != store.MinStatusListSize {
		t.Errorf("default status list size %d, want %d", s.listSize, store.MinStatusListSize)
	}
}
