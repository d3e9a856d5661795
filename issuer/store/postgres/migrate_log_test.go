package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"elicence/issuer/store"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/tlog"
)

// TestMigrationLogRows builds a database as version 6 of the schema left
// it (a tlog_leaf row per leaf), with two logs, then opens it: after
// migration 00007 the logs read back as a database that appended the same
// leaves with today's code (state, leaves, tile hashes, lookups by hash),
// appends go on from the migrated state, and the way back to version 6
// gives every leaf its row again.
func TestMigrationLogRows(t *testing.T) {
	ctx := context.Background()
	const originA, originB = "example.gov.cn/tlog/A", "example.gov.cn/tlog/B"
	leaf := func(o string, i int) tlog.Leaf {
		return tlog.NewLeaf(tlog.KindCredential, fmt.Appendf(nil, "%s %d", o, i))
	}
	appendTo := func(s *Store, o string, from, to int) {
		t.Helper()
		var ls []tlog.Leaf
		for i := from; i < to; i++ {
			ls = append(ls, leaf(o, i))
		}
		if err := (logSuiteStore{s}).Update(ctx, func(ctx context.Context, tx tlog.Tx) error {
			_, _, err := tlog.Append(ctx, tx, o, ls)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Today's code, for the reference.
	fresh := openTest(t, pgtest.NewDatabase(t))
	appendTo(fresh, originA, 0, 100)
	appendTo(fresh, originA, 100, 300)
	appendTo(fresh, originB, 0, 5)

	// Version 6, filled with the rows it kept (the states and node hashes
	// as the reference has them).
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(pool)
	p := migrationProvider(t, db)
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		origin string
		n      int
	}{{originA, 300}, {originB, 5}} {
		var size int64
		var root, compact []byte
		if err := fresh.pool.QueryRow(ctx, `SELECT size, root, compact FROM tlog_state WHERE origin = $1`, o.origin).Scan(&size, &root, &compact); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO tlog_state (origin, size, root, compact) VALUES ($1, $2, $3, $4)`, o.origin, size, root, compact); err != nil {
			t.Fatal(err)
		}
		for i := range o.n {
			l := leaf(o.origin, i)
			if _, err := pool.Exec(ctx, `INSERT INTO tlog_leaf (origin, idx, leaf, hash, licence_id) VALUES ($1, $2, $3, $4, $5)`,
				o.origin, i, l.Marshal(), l.Hash(), fmt.Sprint("L-", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, _ := fresh.pool.Query(ctx, `SELECT origin, level, idx, hash FROM tlog_hash`)
	nodes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Origin string
		Level  int16
		Idx    int64
		Hash   []byte
	}])
	if err != nil || len(nodes) != 1 {
		t.Fatalf("%d node hashes in the reference (want the one of level 8): %v", len(nodes), err)
	}
	for _, nd := range nodes {
		if _, err := pool.Exec(ctx, `INSERT INTO tlog_hash (origin, level, idx, hash) VALUES ($1, $2, $3, $4)`, nd.Origin, nd.Level, nd.Idx, nd.Hash); err != nil {
			t.Fatal(err)
		}
	}

	migrated := openTest(t, url)
	same := func(what string) {
		t.Helper()
		for _, o := range []string{originA, originB} {
			want, err := fresh.logStore.LogState(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := migrated.logStore.LogState(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if got.Size != want.Size || !bytes.Equal(got.Root, want.Root) || !bytes.Equal(bytes.Join(got.Range, nil), bytes.Join(want.Range, nil)) {
				t.Fatalf("%s: %s at size %d, want %d (same root %v)", what, o, got.Size, want.Size, bytes.Equal(got.Root, want.Root))
			}
			for _, r := range []struct {
				level   uint
				from, n uint64
			}{{0, 0, want.Size}, {0, 1, 2}, {8, 0, want.Size >> 8}} {
				if r.n == 0 {
					continue
				}
				if r.level == 0 {
					wl, err1 := fresh.logStore.LogLeaves(ctx, o, r.from, r.n)
					gl, err2 := migrated.logStore.LogLeaves(ctx, o, r.from, r.n)
					if err := errors.Join(err1, err2); err != nil || fmt.Sprint(wl) != fmt.Sprint(gl) {
						t.Fatalf("%s: %s leaves %d+%d differ: %v", what, o, r.from, r.n, err)
					}
				}
				wh, err1 := fresh.logStore.LogHashes(ctx, o, r.level, r.from, r.n)
				gh, err2 := migrated.logStore.LogHashes(ctx, o, r.level, r.from, r.n)
				if err := errors.Join(err1, err2); err != nil || !bytes.Equal(bytes.Join(wh, nil), bytes.Join(gh, nil)) {
					t.Fatalf("%s: %s level-%d hashes %d+%d differ: %v", what, o, r.level, r.from, r.n, err)
				}
			}
			for _, i := range []uint64{0, want.Size - 1} {
				loc, err := migrated.logStore.LookupLeaf(ctx, o, leaf(o, int(i)).Hash())
				if err != nil || loc.Index != i {
					t.Fatalf("%s: %s leaf %d found at %d: %v", what, o, i, loc.Index, err)
				}
			}
		}
		if _, err := migrated.logStore.LookupLeaf(ctx, originA, leaf(originB, 0).Hash()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: a leaf of log B found in log A: %v", what, err)
		}
	}
	same("migrated")
	appendTo(fresh, originA, 300, 310)
	appendTo(migrated, originA, 300, 310)
	appendTo(fresh, originB, 5, 6)
	appendTo(migrated, originB, 5, 6)
	same("appended after the migration")

	// Back to version 6: a row per leaf, in order, with its hash.
	if _, err := p.DownTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	rows, _ = pool.Query(ctx, `SELECT origin, idx, leaf, hash FROM tlog_leaf ORDER BY origin, idx`)
	var n int
	for rows.Next() {
		var o string
		var idx int64
		var enc, hash []byte
		if err := rows.Scan(&o, &idx, &enc, &hash); err != nil {
			t.Fatal(err)
		}
		origin, i := originA, n
		if n >= 310 {
			origin, i = originB, n-310
		}
		want := leaf(origin, i)
		if o != origin || idx != int64(i) || !bytes.Equal(enc, want.Marshal()) || !bytes.Equal(hash, want.Hash()) {
			t.Fatalf("row %d after the way back: %s %d", n, o, idx)
		}
		n++
	}
	if err := rows.Err(); err != nil || n != 316 {
		t.Fatalf("%d leaf rows after the way back, want 316: %v", n, err)
	}
}

// migrationProvider is a goose provider of the embedded migrations on db.
func migrationProvider(t *testing.T, db *sql.DB) *goose.Provider {
	t.Helper()
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
