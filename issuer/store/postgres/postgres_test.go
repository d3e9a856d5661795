package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"elicence/issuer/store"
	"elicence/issuer/store/internal/cursor"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/issuer/store/storetest"
)

// testListSize keeps status lists small so that the suite crosses list
// boundaries quickly.
const testListSize = 64

func openTest(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Config{URL: url, listSize: testListSize})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tamperStore lets the suite damage the audit log, which the store's API
// cannot do and the database's triggers refuse.
type tamperStore struct{ *Store }

func (s tamperStore) tamper(ctx context.Context, sql string, seq int64, args ...any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sql, append([]any{seq}, args...)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("no audit entry %d", seq)
		}
		_, err = tx.Exec(ctx, `ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`)
		return err
	})
}

func (s tamperStore) TamperAuditDetail(ctx context.Context, seq int64, detail []byte) error {
	return s.tamper(ctx, `UPDATE audit_log SET detail = $2 WHERE seq = $1`, seq, detail)
}

func (s tamperStore) DeleteAudit(ctx context.Context, seq int64) error {
	return s.tamper(ctx, `DELETE FROM audit_log WHERE seq = $1`, seq)
}

func (s tamperStore) RawPrivateKey(ctx context.Context, dept, id string) ([]byte, bool, error) {
	var pem []byte
	var isNull bool
	err := s.pool.QueryRow(ctx, `SELECT private_key_pem, private_key_pem IS NULL FROM signing_keys WHERE department_code = $1 AND id = $2`,
		dept, id).Scan(&pem, &isNull)
	return pem, isNull, err
}

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	var opened []*Store
	// A group of its own, so that its parallel tests end before the
	// check below.
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s := openTest(t, pgtest.NewDatabase(t))
			mu.Lock()
			opened = append(opened, s)
			mu.Unlock()
			return tamperStore{s}
		})
	})
	// The suite issues and re-issues in batches: the stores must have
	// counted them towards their next ANALYZE (stats.go).
	var written int64
	mu.Lock()
	for _, s := range opened {
		written += s.stats.written.Load()
	}
	mu.Unlock()
	if written == 0 {
		t.Error("no licence written by IssueBatch or ReissueBatch was counted towards the next ANALYZE")
	}
}

// TestAuditAppendOnly shows the database itself refuses to change or
// remove audit entries, whoever asks.
func TestAuditAppendOnly(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	if _, err := s.AppendAudit(ctx, store.AuditEvent{Actor: "operator", Action: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_log SET actor = 'mallory'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`DELETE FROM audit_head`,
	} {
		_, err := s.pool.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want refusal", sql, err)
		}
	}
	if bad, err := s.VerifyChain(ctx); bad != 0 || err != nil {
		t.Errorf("VerifyChain = %d, %v", bad, err)
	}
}

// TestTwoProcesses runs two stores, each with its own connection pool as
// two issuer processes would have, against one database at once.
func TestTwoProcesses(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var stores [2]*Store
	var wg sync.WaitGroup
	for i := range stores {
		// Both migrate at the same time; the advisory lock makes one wait.
		wg.Go(func() { stores[i] = openTest(t, url) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	a, b := stores[0], stores[1]
	ctx := t.Context()
	setUpD1(t, a, b)
	const perStore = 40
	var mu sync.Mutex
	var ids []string
	for _, s := range stores {
		for range perStore {
			wg.Go(func() {
				l, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: "D1", TypeCode: "BL"},
					func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
						l := benchLicence(a)
						return l, store.AuditEvent{Actor: "t", Action: "licence.issue", Subject: l.ID}, nil
					})
				if err != nil {
					t.Errorf("issue: %v", err)
					return
				}
				mu.Lock()
				ids = append(ids, l.ID)
				mu.Unlock()
			})
		}
		wg.Go(func() {
			_, err := s.IssueBatch(ctx, store.IssueParams{DepartmentCode: "D1", TypeCode: "BL"}, 30,
				func(_ int, a store.Allocation) (store.Licence, store.AuditEvent, error) {
					l := benchLicence(a)
					return l, store.AuditEvent{Actor: "t", Action: "licence.issue", Subject: l.ID}, nil
				})
			if err != nil {
				t.Errorf("batch: %v", err)
			}
		})
	}
	wg.Wait()
	var n, serials, slots int
	err := a.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT serial), count(DISTINCT (status_list_id, status_index)) FROM licences`).
		Scan(&n, &serials, &slots)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * (perStore + 30); n != want || serials != n || slots != n {
		t.Errorf("%d licences, %d distinct serials, %d distinct slots; want %d of each", n, serials, slots, want)
	}
	for _, s := range stores {
		if bad, err := s.VerifyChain(ctx); bad != 0 || err != nil {
			t.Errorf("VerifyChain = %d, %v", bad, err)
		}
	}
	entries, err := b.ListAudit(ctx, 3, store.MaxPageSize)
	if err != nil || len(entries) != n {
		t.Errorf("%d issuance audit entries (%v), want %d", len(entries), err, n)
	}
}

// TestOpenAgain shows reopening applies no migration twice and keeps data.
func TestOpenAgain(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openTest(t, url)
	if _, err := s.CreateDepartment(t.Context(), store.Department{Code: "D1", Name: "d"}, store.AuditEvent{Actor: "o", Action: "a"}); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, url)
	if _, err := s2.Department(t.Context(), "D1"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}

func TestStatusListSize(t *testing.T) {
	url := pgtest.NewDatabase(t)
	_, err := Open(t.Context(), Config{URL: url, StatusListSize: store.MinStatusListSize - 1})
	if err == nil {
		t.Fatal("Open accepted a status list size below the minimum")
	}
	for _, size := range []int{0, store.MinStatusListSize * 2} {
		s, err := Open(t.Context(), Config{URL: url, StatusListSize: size})
		if err != nil {
			t.Fatal(err)
		}
		want := max(size, store.MinStatusListSize)
		if s.listSize != want {
			t.Errorf("StatusListSize %d: lists of %d, want %d", size, s.listSize, want)
		}
		s.Close()
	}
}

func TestOpenUnreachable(t *testing.T) {
	_, err := Open(t.Context(), Config{URL: "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"})
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		t.Errorf("unexpected server error %v", err)
	}
}

// TestIssuePanicReachesCaller checks that a build that panics, which runs
// on a goroutine of its issuance group, panics in its caller (where
// net/http recovers it) rather than bringing the process down, and that
// the group goes on for the others.
func TestIssuePanicReachesCaller(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	ev := store.AuditEvent{Actor: "operator", Action: "setup"}
	if _, err := s.CreateDepartment(ctx, store.Department{Code: "D1", Name: "d"}, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLicenceType(ctx, store.LicenceType{Code: "BL", Name: "b", Authority: "a", FieldDefinitions: []byte("{}")}, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.Authorise(ctx, "D1", "BL", ev); err != nil {
		t.Fatal(err)
	}
	p := store.IssueParams{DepartmentCode: "D1", TypeCode: "BL"}
	good := func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
		l := benchLicence(a)
		return l, store.AuditEvent{Actor: "t", Action: "licence.issue", Subject: l.ID}, nil
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%5 != 0 {
				if _, err := s.IssueLicence(ctx, p, good); err != nil {
					t.Errorf("issue %d: %v", i, err)
				}
				return
			}
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("issue %d: recovered %v, want boom", i, r)
				}
			}()
			s.IssueLicence(ctx, p, func(store.Allocation) (store.Licence, store.AuditEvent, error) { panic("boom") })
			t.Errorf("issue %d: IssueLicence returned", i)
		})
	}
	wg.Wait()
	if _, err := s.VerifyChain(ctx); err != nil {
		t.Error(err)
	}
}

// TestSupersedePlan checks that re-issue's superseding statement reaches
// licences through the primary key and tuple IDs whatever the planner's
// statistics say: with stale statistics (right after a bulk load) a plan
// that scans the department makes a re-issue run quadratic.
func TestSupersedePlan(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("1.2.156.3005.2.T.D.%08d.001.X", i)
	}
	explain := func() string {
		rows, _ := s.pool.Query(ctx, `EXPLAIN `+supersedeBatch,
			"D", ids, int16(store.StatusRevoked), []string{"T"}, store.ReasonSuperseded, time.Now())
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	fill := func(from, n int) { fillLicences(t, s, from, n) }
	fill(0, 100)
	for _, state := range []string{"stale: analysed at 100 rows, now 20,100", "fresh: analysed at 20,100 rows"} {
		if state[0] == 's' {
			if _, err := s.pool.Exec(ctx, `ANALYZE licences`); err != nil {
				t.Fatal(err)
			}
			fill(100, 20000)
		} else if _, err := s.pool.Exec(ctx, `ANALYZE licences`); err != nil {
			t.Fatal(err)
		}
		plan := explain()
		for _, want := range []string{"licences_pkey", "Tid Scan on licences"} {
			if !strings.Contains(plan, want) {
				t.Errorf("%s: plan lacks %q:\n%s", state, want, plan)
			}
		}
		for _, bad := range []string{"Seq Scan on licences", "Bitmap Heap Scan on licences"} {
			if strings.Contains(plan, bad) {
				t.Errorf("%s: plan has %q:\n%s", state, bad, plan)
			}
		}
	}
}

// fillLicences adds n licences of department D, numbered from from,
// without going through the store (foreign keys off: the tests using it
// are about the planner, not the data).
func fillLicences(t *testing.T, s *Store, from, n int) {
	t.Helper()
	ctx := t.Context()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO licences (id, department_code, type_code, serial, version,
			holder_name, holder_kind, holder_code, fields, valid_from, issued_at, status,
			status_list_id, status_index, credential, record_digest, updated_at)
			SELECT '1.2.156.3005.2.T.D.' || lpad(g::text, 8, '0') || '.001.X', 'D', 'T', g, 1,
				'h', 'person', 'c' || g, '\\x', now(), now() - g * interval '1 second', 0, 'L', g, '\\x', '\\x', now()
			FROM generate_series($1::integer, $2::integer) AS g`, from, from+n-1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatisticsAfterBulk: once the store has written half of the
// licences table since its statistics were gathered, it analyses the
// table, so that a department's listing pages come from the listing index
// instead of a scan and sort of the whole department for every page.
func TestStatisticsAfterBulk(t *testing.T) {
	s := openTest(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	// Never analysed, as if autovacuum had not come yet (and it must not
	// come during the test).
	if _, err := s.pool.Exec(ctx, `ALTER TABLE licences SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	fillLicences(t, s, 0, 30000)
	st := store.StatusValid
	q := store.LicenceQuery{DepartmentCode: "D", Status: &st, Cursor: cursor.Encode(time.Now().Add(-time.Hour), "1.2.156.3005.2.T.D.99999999.001.X")}
	plan := func() string {
		sql, args, err := listQuery(q, store.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := s.pool.Query(ctx, `EXPLAIN `+sql, args...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	// The hazard itself, so that this test shows the fix and not the
	// planner's mood: with no statistics the page is a sort of the whole
	// department.
	if p := plan(); !strings.Contains(p, "Sort") {
		t.Fatalf("without statistics the planner already uses the listing index; this test no longer reproduces the hazard:\n%s", p)
	}
	s.wrote(analyzeMinRows - 1)
	if s.stats.running.Load() {
		t.Fatalf("ANALYZE started after %d licences, before %d", analyzeMinRows-1, analyzeMinRows)
	}
	s.wrote(1)
	s.stats.wg.Wait()
	p := plan()
	if !strings.Contains(p, "Index Scan using licences_listing") || strings.Contains(p, "Sort") {
		t.Errorf("after the background ANALYZE a listing page does not come from the listing index:\n%s", p)
	}
	if th := s.stats.threshold.Load(); th < 14000 || th > 16000 {
		t.Errorf("next ANALYZE after %d licences, want half the table (30,000) but at least %d", th, analyzeMinRows)
	}
}

// TestWatchStatus: a status change committed through one store (one
// issuer process) reaches a watcher on another store of the same
// database; an issuance, which changes no status, does not; and a watcher
// whose connection is killed listens again and says so.
func TestWatchStatus(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, b := openTest(t, url), openTest(t, url)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	woke := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() { done <- a.WatchStatus(ctx, func() { woke <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-woke:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wake within 10 s", what)
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-woke:
			t.Fatalf("%s woke the watcher", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
	wait("listening")
	l := issueOne(t, b)
	quiet("an issuance")
	if _, err := b.UpdateStatus(t.Context(), store.StatusChange{DepartmentCode: l.DepartmentCode, LicenceID: l.ID, Status: store.StatusSuspended, Reason: "investigation"},
		store.AuditEvent{Actor: "test", Action: "licence.suspend", Subject: l.ID}); err != nil {
		t.Fatal(err)
	}
	wait("a suspension through the other store")
	if _, err := b.pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	wait("listening again after the connection was killed")
	if _, err := b.UpdateStatus(t.Context(), store.StatusChange{DepartmentCode: l.DepartmentCode, LicenceID: l.ID, Status: store.StatusValid},
		store.AuditEvent{Actor: "test", Action: "licence.reinstate", Subject: l.ID}); err != nil {
		t.Fatal(err)
	}
	wait("a reinstatement after reconnecting")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WatchStatus returned %v at the end of its context", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WatchStatus did not return when its context ended")
	}
}

// issueOne sets up department D1 with licence type BL in s and issues one
// licence there.
func issueOne(t *testing.T, s *Store) store.Licence {
	t.Helper()
	ctx := t.Context()
	setUpD1(t, s, s)
	l, err := s.IssueLicence(ctx, store.IssueParams{DepartmentCode: "D1", TypeCode: "BL"},
		func(a store.Allocation) (store.Licence, store.AuditEvent, error) {
			l := benchLicence(a)
			return l, store.AuditEvent{Actor: "t", Action: "licence.issue", Subject: l.ID}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// setUpD1 creates department D1 through a and licence type BL through b
// (two stores of one database, or the same one), and authorises D1 for BL.
func setUpD1(t *testing.T, a, b *Store) {
	t.Helper()
	ctx := t.Context()
	ev := store.AuditEvent{Actor: "operator", Action: "setup"}
	if _, err := a.CreateDepartment(ctx, store.Department{Code: "D1", Name: "d"}, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateLicenceType(ctx, store.LicenceType{Code: "BL", Name: "b", Authority: "a", FieldDefinitions: []byte("{}")}, ev); err != nil {
		t.Fatal(err)
	}
	if err := a.Authorise(ctx, "D1", "BL", ev); err != nil {
		t.Fatal(err)
	}
}
