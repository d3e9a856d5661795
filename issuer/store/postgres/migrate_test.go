package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"elicence/issuer/store"
	"elicence/issuer/store/postgres/pgtest"
)

// TestMigrationDestroysRetiredKeys builds a database as version 2 of the
// schema left it (private keys kept for every key, no retirement time),
// then opens it: the migration must destroy the private half of the
// retired and compromised keys, keep the active one's, and give each
// retired key its successor's creation time (or, without successor, the
// migration time) as retirement time.
func TestMigrationDestroysRetiredKeys(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if _, err := migrationProvider(t, db).UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	at := func(s int) time.Time { return time.Date(2025, 1, 1, 0, 0, s, 0, time.UTC) }
	if _, err := pool.Exec(ctx, `INSERT INTO departments (code, name, created_at) VALUES ('D1', 'd', now()), ('D2', 'd', now())`); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		dept, id, state string
		since           *time.Time
		created         time.Time
	}{
		{"D1", "00000000000000a1", "retired", nil, at(1)},
		{"D1", "00000000000000a2", "compromised", new(at(0)), at(2)},
		{"D1", "00000000000000a3", "active", nil, at(3)},
		{"D2", "00000000000000b1", "retired", nil, at(4)},
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO signing_keys (department_code, id, public_key, private_key_pem, certificate, state, compromised_since, created_at)
			VALUES ($1, $2, '\x01', 'SECRET', '\x', $3, $4, $5)`, k.dept, k.id, k.state, k.since, k.created); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	pool.Close()

	before := time.Now().Add(-time.Minute)
	s := openTest(t, url)
	for _, c := range []struct {
		dept, id string
		keep     bool
		retired  time.Time
	}{
		{"D1", "00000000000000a1", false, at(2)},
		{"D1", "00000000000000a2", false, at(3)},
		{"D1", "00000000000000a3", true, time.Time{}},
		{"D2", "00000000000000b1", false, before}, // no successor: the migration time
	} {
		pem, isNull, err := tamperStore{s}.RawPrivateKey(ctx, c.dept, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if c.keep == isNull || (c.keep && string(pem) != "SECRET") {
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
	if _, err := s.pool.Exec(ctx, `UPDATE signing_keys SET private_key_pem = '\x01' WHERE id = '00000000000000a1'`); err == nil {
		t.Errorf("the database accepts a private key on a retired key")
	}
}

// TestScrubRewritesKeys shows that retiring a key rewrites the
// signing_keys table (a new file), so that the dead row version holding
// the destroyed private key does not stay in the table's file.
func TestScrubRewritesKeys(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, pgtest.NewDatabase(t))
	ev := store.AuditEvent{Actor: "t", Action: "x"}
	if _, err := s.CreateDepartment(ctx, store.Department{Code: "D1", Name: "d"}, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSigningKey(ctx, store.SigningKey{ID: "00000000000000a1", DepartmentCode: "D1", PublicKey: []byte{1},
		PrivateKeyPEM: []byte("SECRET"), State: store.KeyActive}, ev); err != nil {
		t.Fatal(err)
	}
	node := func() (n int64) {
		if err := s.pool.QueryRow(ctx, `SELECT pg_relation_filenode('signing_keys')::bigint`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := node()
	if _, err := s.SetSigningKeyState(ctx, "D1", "00000000000000a1", store.KeyRetired, time.Time{}, ev); err != nil {
		t.Fatal(err)
	}
	if after := node(); after == before {
		t.Errorf("signing_keys was not rewritten after the retirement (file node %d)", after)
	}
}
