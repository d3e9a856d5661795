package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"elicence/issuer/store"
)

// TestMigrationDestroysRetiredKeys builds a database as version 2 of the
// schema left it (private keys kept for every key, no retirement time),
// then opens it: the migration must destroy the private half of the
// retired and compromised keys, keep the active one's, and give each
// retired key its successor's creation time (or, without successor, the
// migration time) as retirement time.
func TestMigrationDestroysRetiredKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, files, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	us := func(s int) int64 { return time.Date(2025, 1, 1, 0, 0, s, 0, time.UTC).UnixMicro() }
	for _, q := range []string{
		`INSERT INTO departments (code, name, created_at) VALUES ('D1', 'd', 1), ('D2', 'd', 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []struct {
		dept, id, state string
		since           any
		created         int64
	}{
		{"D1", "00000000000000a1", "retired", nil, us(1)},
		{"D1", "00000000000000a2", "compromised", us(0), us(2)},
		{"D1", "00000000000000a3", "active", nil, us(3)},
		{"D2", "00000000000000b1", "retired", nil, us(4)},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO signing_keys (department_code, id, public_key, private_key_pem, certificate, state, compromised_since, created_at)
			VALUES (?, ?, X'01', X'5345435245540A', X'', ?, ?, ?)`, k.dept, k.id, k.state, k.since, k.created); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	before := time.Now().Add(-time.Minute)
	s := openTest(t, path)
	for _, c := range []struct {
		dept, id string
		keep     bool
		retired  time.Time
	}{
		{"D1", "00000000000000a1", false, time.UnixMicro(us(2))},
		{"D1", "00000000000000a2", false, time.UnixMicro(us(3))},
		{"D1", "00000000000000a3", true, time.Time{}},
		{"D2", "00000000000000b1", false, before}, // no successor: the migration time
	} {
		pem, isNull, err := tamperStore{s}.RawPrivateKey(ctx, c.dept, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if c.keep == isNull || (c.keep && string(pem) != "SECRET\n") {
			t.Errorf("key %s: private key %q (null %v), want kept %v", c.id, pem, isNull, c.keep)
		}
		k, err := s.SigningKey(ctx, c.dept, c.id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.keep && !k.RetiredAt.IsZero():
			t.Errorf("active key %s retired at %v", c.id, k.RetiredAt)
		case !c.keep && c.id == "00000000000000b1" && k.RetiredAt.Before(before):
			t.Errorf("key %s retired at %v, want the migration time", c.id, k.RetiredAt)
		case !c.keep && c.id != "00000000000000b1" && !k.RetiredAt.Equal(c.retired):
			t.Errorf("key %s retired at %v, want its successor's creation %v", c.id, k.RetiredAt, c.retired)
		}
	}
	// The constraint holds from now on: a non-active key with a private
	// key is refused by the database itself.
	if _, err := s.w.ExecContext(ctx, `UPDATE signing_keys SET private_key_pem = X'01' WHERE id = '00000000000000a1'`); err == nil {
		t.Errorf("the database accepts a private key on a retired key")
	}
}

// TestRetiredKeyLeavesNoCopy retires a key and then searches the database
// file and its write-ahead log for the private key's bytes: the row's
// column is NULL, the old cell is zeroed (secure_delete) and the log is
// emptied into the file, so no copy is left.
func TestRetiredKeyLeavesNoCopy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	s := openTest(t, path)
	var secure int
	if err := s.w.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&secure); err != nil || secure != 1 {
		t.Errorf("the writer runs with secure_delete = %d (%v), want 1", secure, err)
	}
	ev := store.AuditEvent{Actor: "t", Action: "x"}
	if _, err := s.CreateDepartment(ctx, store.Department{Code: "D1", Name: "d"}, ev); err != nil {
		t.Fatal(err)
	}
	secret := []byte("PRIVATE-KEY-MARKER-0123456789abcdef")
	for i, id := range []string{"00000000000000a1", "00000000000000a2"} {
		pem := secret
		if i == 1 {
			pem = []byte("another key")
		}
		if _, err := s.AddSigningKey(ctx, store.SigningKey{ID: id, DepartmentCode: "D1", PublicKey: []byte{1}, PrivateKeyPEM: pem, State: store.KeyActive}, ev); err != nil {
			t.Fatal(err)
		}
	}
	// The rotation retired a1. Compromise a2 too, then look.
	if _, err := s.SetSigningKeyState(ctx, "D1", "00000000000000a2", store.KeyCompromised, time.Now().Add(-time.Hour), ev); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, secret) || bytes.Contains(b, []byte("another key")) {
			t.Errorf("%s still holds a destroyed private key", filepath.Base(f))
		}
	}
}
