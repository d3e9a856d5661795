package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
	"elicence/issuer/store/postgres/pgtest"
)

// copyCases are licences whose values reach every branch of
// appendLicenceRow: NULL and non-NULL optional columns, nil and empty
// byte strings, times with nanoseconds, before 2000 and before 1970,
// extreme integers, non-ASCII text.
func copyCases() []store.Licence {
	at := time.Date(2026, 12, 2, 7, 30, 1, 123456789, time.UTC)
	base := store.Licence{
		ID: "L-1", DepartmentCode: "110000", TypeCode: "T", Serial: 1, Version: 1,
		HolderName: "李四", HolderKind: "citizen", HolderCode: "35010219900307****",
		Fields: []byte(`{"cc":"C1"}`), ValidFrom: at.Truncate(time.Microsecond), IssuedAt: at,
		StatusListID: "110000-1", StatusIndex: 7, Credential: []byte{0, 1, 0xff},
		RecordDigest: make([]byte, 32), UpdatedAt: at, Record: []byte{0xa1, 0x00},
	}
	ls := []store.Licence{base}
	l := base
	l.ID, l.Serial, l.Version, l.StatusIndex = "L-2", -1<<63, 1<<31-1, -1<<31
	l.Fields, l.Record, l.Credential = nil, nil, []byte{}
	l.ValidFrom = time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)
	l.ValidUntil = time.Date(1999, 12, 31, 23, 59, 59, 500, time.FixedZone("CST", 8*3600))
	l.IssuedAt = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
	ls = append(ls, l)
	l = base
	l.ID, l.Serial, l.Version = "L-3", 1<<63-1, 2
	l.Status, l.StatusReason, l.StatusChangedAt = store.StatusSuspended, "停业整顿", at.Add(time.Nanosecond)
	l.Supersedes = "L-1"
	l.ValidUntil = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	return append(ls, l)
}

// TestCopyLicencesAsPgx holds the hand-written binary COPY to pgx's:
// every column of every case reads back the same (compared as PostgreSQL's
// text of the whole row, and the bytea columns byte for byte), written
// once by copyLicences and once by pgx's CopyFrom over licenceRow.
func TestCopyLicencesAsPgx(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	ls := copyCases()
	read := func(write func(pgx.Tx) error) []string {
		return readBack(t, s, `SELECT l::text || encode(credential, 'hex') || encode(fields, 'hex') || encode(record, 'hex') FROM licences l ORDER BY id`, write)
	}
	mine := read(func(tx pgx.Tx) error { return copyLicences(ctx, tx, ls, nil) })
	theirs := read(func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"licences"}, licenceColumnList,
			pgx.CopyFromSlice(len(ls), func(i int) ([]any, error) { return licenceRow(&ls[i]), nil }))
		return err
	})
	if len(mine) != len(ls) || len(theirs) != len(ls) {
		t.Fatalf("rows: copyLicences %d, pgx %d, want %d", len(mine), len(theirs), len(ls))
	}
	for i := range mine {
		if mine[i] != theirs[i] {
			t.Errorf("row %d:\ncopyLicences %s\npgx          %s", i, mine[i], theirs[i])
		}
	}
	// A subset by index, as IssueBatch writes the rows not replayed.
	sub := read(func(tx pgx.Tx) error { return copyLicences(ctx, tx, ls, []int{0, 2}) })
	if len(sub) != 2 || sub[0] != theirs[0] || sub[1] != theirs[2] {
		t.Errorf("subset [0 2]: %q", sub)
	}
	// Many rows: the stream spans several reads.
	many := make([]store.Licence, 500)
	for i := range many {
		many[i] = ls[0]
		many[i].ID, many[i].Serial = "M-"+string(rune('a'+i%26))+time.Duration(i).String(), int64(i)
		many[i].Credential = make([]byte, 300)
	}
	if n := len(read(func(tx pgx.Tx) error { return copyLicences(ctx, tx, many, nil) })); n != len(many) {
		t.Errorf("500 rows: %d read back", n)
	}
}

// readBack runs write in a transaction, then query, and returns its
// text rows, rolling back what write did.
func readBack(t *testing.T, s *Store, query string, write func(pgx.Tx) error) []string {
	t.Helper()
	var rows []string
	err := pgx.BeginFunc(t.Context(), s.pool, func(tx pgx.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		r, err := tx.Query(t.Context(), query)
		if err != nil {
			return err
		}
		if rows, err = pgx.CollectRows(r, pgx.RowTo[string]); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatal(err)
	}
	return rows
}

// TestCopyNilBytesRefused: a nil credential is NULL, refused by the
// column, as pgx sends it — never stored as an empty one.
func TestCopyNilBytesRefused(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ls := copyCases()[:1]
	ls[0].Credential = nil
	err := pgx.BeginFunc(t.Context(), s.pool, func(tx pgx.Tx) error { return copyLicences(t.Context(), tx, ls, nil) })
	if err == nil {
		t.Fatal("a licence without a credential was stored")
	}
}

// TestCopyAuditAsPgx: audit entries written by appendAuditRow read back
// as those written by pgx's CopyFrom.
func TestCopyAuditAsPgx(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	at := time.Date(2026, 12, 2, 7, 30, 1, 123456789, time.FixedZone("CST", 8*3600))
	es := []store.AuditEntry{
		{Seq: 1 << 40, Time: at, Actor: "tok-1", Action: "licence.issue", Subject: "L-1", Detail: []byte(`{"a":"李"}`), PrevHash: make([]byte, 32), Hash: []byte{1, 2, 3}},
		{Seq: 1<<40 + 1, Time: at.Add(-40 * 365 * 24 * time.Hour), Actor: "", Action: "x", Subject: "", Detail: nil, PrevHash: []byte{}, Hash: []byte{0xff}},
	}
	const q = `SELECT a::text FROM audit_log a WHERE seq >= 1099511627776 ORDER BY seq`
	cols := []string{"seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash"}
	mine := readBack(t, s, q, func(tx pgx.Tx) error {
		return copyBinary(t.Context(), tx, "COPY audit_log ("+strings.Join(cols, ", ")+") FROM STDIN BINARY", len(es),
			func(b []byte, i int) ([]byte, error) { return appendAuditRow(b, &es[i]), nil })
	})
	theirs := readBack(t, s, q, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(t.Context(), pgx.Identifier{"audit_log"}, cols, pgx.CopyFromSlice(len(es), func(i int) ([]any, error) {
			e := es[i]
			return []any{e.Seq, e.Time, e.Actor, e.Action, e.Subject, bytesOf(e.Detail), e.PrevHash, e.Hash}, nil
		}))
		return err
	})
	if len(mine) != len(es) || strings.Join(mine, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("appendAuditRow %q\npgx %q", mine, theirs)
	}
}

type rollback struct{}

func (rollback) Error() string { return "rollback" }

var errRollback error = rollback{}

// TestCopyLookupsAsPgx: log lookup rows written by appendLookupRow read
// back as those written by pgx's CopyFrom (a batch number beyond 32 bits,
// a position with the top bit of its low half set).
func TestCopyLookupsAsPgx(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	hashes := [][]byte{make([]byte, 32), append(make([]byte, 31), 1), append([]byte{0xff}, make([]byte, 31)...)}
	batches, pos := []int64{1, 1 << 40, 1<<63 - 1}, []int{0, 1<<31 - 1, 1 << 15}
	const q = `SELECT l::text FROM tlog_lookup l ORDER BY batch`
	mine := readBack(t, s, q, func(tx pgx.Tx) error {
		return copyBinary(t.Context(), tx, copyLookupsSQL, len(hashes), func(b []byte, i int) ([]byte, error) {
			return appendLookupRow(b, hashes[i], batches[i], pos[i]), nil
		})
	})
	theirs := readBack(t, s, q, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(t.Context(), pgx.Identifier{"tlog_lookup"}, []string{"hash", "batch", "pos"},
			pgx.CopyFromSlice(len(hashes), func(i int) ([]any, error) {
				return []any{hashes[i], batches[i], int32(pos[i])}, nil
			}))
		return err
	})
	if len(mine) != len(hashes) || strings.Join(mine, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("appendLookupRow %q\npgx %q", mine, theirs)
	}
}

// TestCopyRowKeysAsPgx: bulk rows' idempotency keys written by
// appendRowKey read back as those written by pgx's CopyFrom.
func TestCopyRowKeysAsPgx(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	ls := copyCases()[:1]
	if _, err := s.pool.Exec(ctx, `INSERT INTO departments (code, name, created_at) VALUES ($1, 'd', now())`, ls[0].DepartmentCode); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 7, 30, 1, 123456789, time.FixedZone("CST", 8*3600))
	keys, hashes := []string{"bulk:u:1", "bulk:上传:2"}, [][]byte{make([]byte, 32), {}}
	const q = `SELECT k::text FROM idempotency_keys k ORDER BY key`
	cols := []string{"department_code", "key", "request_hash", "licence_id", "created_at"}
	write := func(tx pgx.Tx, rows func(tx pgx.Tx) error) error {
		if err := copyLicences(ctx, tx, ls, nil); err != nil {
			return err
		}
		return rows(tx)
	}
	mine := readBack(t, s, q, func(tx pgx.Tx) error {
		return write(tx, func(tx pgx.Tx) error {
			return copyBinary(ctx, tx, copyRowKeysSQL, len(keys), func(b []byte, i int) ([]byte, error) {
				return appendRowKey(b, ls[0].DepartmentCode, keys[i], hashes[i], ls[0].ID, at), nil
			})
		})
	})
	theirs := readBack(t, s, q, func(tx pgx.Tx) error {
		return write(tx, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"idempotency_keys"}, cols, pgx.CopyFromSlice(len(keys), func(i int) ([]any, error) {
				return []any{ls[0].DepartmentCode, keys[i], hashes[i], ls[0].ID, at}, nil
			}))
			return err
		})
	})
	if len(mine) != len(keys) || strings.Join(mine, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("appendRowKey %q\npgx %q", mine, theirs)
	}
}
