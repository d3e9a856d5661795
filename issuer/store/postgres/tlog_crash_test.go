package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/transparency-dev/merkle/compact"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/tlog"
)

// logOrigin is the fixture department's log origin (issuer.DefaultLogHost:
// the fixture has no public URL).
const logOrigin = issuer.DefaultLogHost + "/tlog/" + issuertest.Dept

// checkLogAgrees checks, on the database behind url, that the department's
// log and its licence and document tables agree: every stored licence and
// document is a leaf (once), no leaf is without one (a leaf is the
// licence's credential or the document's receipt), the leaves' rows are
// gapless from 0 to the state's size, each leaf has its one lookup row,
// and the state's root is the root of those leaves. It returns the number
// of licences and documents.
func checkLogAgrees(t *testing.T, url string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := connectRetrying(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The leaves the records say there must be, as a multiset.
	want := map[string]int{}
	rows, _ := conn.Query(ctx, `SELECT credential, NULL FROM licences WHERE department_code = $1
		UNION ALL SELECT NULL, receipt FROM documents WHERE department_code = $1`, issuertest.Dept)
	var licences int
	for rows.Next() {
		var cred, receipt []byte
		if err := rows.Scan(&cred, &receipt); err != nil {
			t.Fatal(err)
		}
		l := tlog.NewLeaf(tlog.KindCredential, cred)
		if receipt != nil {
			l = tlog.NewLeaf(tlog.KindDocumentReceipt, receipt)
		}
		want[string(l.Marshal())]++
		licences++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var size int64
	var root []byte
	var log int32
	err = conn.QueryRow(ctx, `SELECT size, root, log FROM tlog_state WHERE origin = $1`, logOrigin).Scan(&size, &root, &log)
	if errors.Is(err, pgx.ErrNoRows) && licences == 0 {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	// The lookup rows: index to hash, each index once.
	lookup := map[int64][]byte{}
	rows, _ = conn.Query(ctx, `SELECT b.start + k.pos, k.hash FROM tlog_lookup k JOIN tlog_bundle b USING (batch) WHERE b.log = $1`, log)
	var lookups int
	for rows.Next() {
		var idx int64
		var hash []byte
		if err := rows.Scan(&idx, &hash); err != nil {
			t.Fatal(err)
		}
		lookup[idx] = hash
		lookups++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT start, leaves FROM tlog_bundle WHERE log = $1 ORDER BY start`, log)
	rf := compact.RangeFactory{Hash: tlog.Hasher.HashChildren}
	r := rf.NewEmptyRange(0)
	var n int64
	for rows.Next() {
		var start int64
		var leaves []byte
		if err := rows.Scan(&start, &leaves); err != nil {
			t.Fatal(err)
		}
		if start != n || len(leaves)%tlog.LeafSize != 0 {
			t.Fatalf("leaves from %d (%d bytes) after %d leaves", start, len(leaves), n)
		}
		for ; len(leaves) > 0; leaves = leaves[tlog.LeafSize:] {
			enc := leaves[:tlog.LeafSize]
			l, err := tlog.ParseLeaf(enc)
			if err != nil {
				t.Fatalf("leaf %d: %v", n, err)
			}
			if want[string(enc)] == 0 {
				t.Fatalf("leaf %d is no stored licence's credential or document's receipt (or one logged twice)", n)
			}
			want[string(enc)]--
			if !bytes.Equal(lookup[n], l.Hash()) {
				t.Fatalf("leaf %d: lookup row %x, leaf hash %x", n, lookup[n], l.Hash())
			}
			if err := r.Append(l.Hash(), nil); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, c := range want {
		missing += c
	}
	got, err := r.GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	var strays int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tlog_lookup k WHERE NOT EXISTS (SELECT 1 FROM tlog_bundle b WHERE b.batch = k.batch)`).Scan(&strays); err != nil {
		t.Fatal(err)
	}
	if strays != 0 {
		t.Fatalf("%d lookup rows of no append", strays)
	}
	if missing != 0 || n != size || lookups != int(n) || int(n) != licences || !bytes.Equal(got, root) {
		t.Fatalf("log state: size %d, %d leaves, %d lookup rows, %d licences and documents of which %d not in the log; root matches its leaves: %v",
			size, n, lookups, licences, missing, bytes.Equal(got, root))
	}
	return licences
}

// connectRetrying connects, waiting for a server that is starting up.
func connectRetrying(ctx context.Context, url string) (*pgx.Conn, error) {
	for attempt := 0; ; attempt++ {
		conn, err := pgx.Connect(ctx, url)
		if err == nil || attempt == 50 {
			return conn, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// issuerFixture opens a store on url with the issuer fixture on it, and
// returns them with the issuer token's principal.
func issuerFixture(t *testing.T, url string) (*postgres.Store, *issuertest.Fixture, *issuer.Principal) {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := issuertest.New(t, st, issuer.Config{})
	p, err := f.Service.Admin.Authenticate(ctx, f.Tokens[issuertest.TokenIssuer])
	if err != nil {
		t.Fatal(err)
	}
	return st, f, p
}

// bizRequest is a business-licence request for the holder name.
func bizRequest(name string) issuer.Request {
	return issuer.Request{Type: issuer.TypeBusinessLicence, HolderName: name, HolderID: "91350100M000100Y43",
		ValidFrom: "2024-05-20", ValidUntil: "长期", Fields: map[string]string{"lr": "张三", "ra": "福建省福州市鼓楼区五四路158号"}}
}

// bulkInput is n NDJSON rows of business licences numbered from first.
func bulkInput(first, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"type": %q, "holder_name": "福州示例科技有限公司%d", "holder_id": "91350100M000100Y43", "valid_from": "2024-05-20", "valid_until": "长期", "fields": {"lr": "张三", "ra": "福建省福州市鼓楼区五四路158号"}}`+"\n",
			issuer.TypeBusinessLicence, first+i)
	}
	return b.String()
}

// Environment of the child process of TestLogAgreesAfterKill.
const (
	envChildURL   = "ELICENCE_TEST_LOG_CHILD_URL"
	envChildToken = "ELICENCE_TEST_LOG_CHILD_TOKEN"
)

// TestLogAgreesAfterKill kills (SIGKILL) an issuer process in the middle of
// bulk issuance and concurrent single issuances on PostgreSQL, then checks
// that the log and the licence table agree, and that issuance and the log
// go on from there. Without the append in the issuing transaction (a leaf
// written apart from its licence) a kill between the two leaves a licence
// without a leaf or a leaf without a licence.
func TestLogAgreesAfterKill(t *testing.T) {
	if url := os.Getenv(envChildURL); url != "" {
		runLogChild(t, url, os.Getenv(envChildToken))
		return
	}
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	_, f, p := issuerFixture(t, url)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLogAgreesAfterKill$")
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	cmd.Env = append(os.Environ(), envChildURL+"="+url+sep+"application_name=logchild", envChildToken+"="+f.Tokens[issuertest.TokenIssuer])
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Kill it once it has issued a few batches, in the middle of others.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n := checkCount(t, url)
		if n >= 1200 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child issued %d licences in 2 minutes:\n%s", n, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if checkBackends(t, url) == 0 {
		cmd.Process.Kill()
		t.Fatal("the child's backends are not seen by their application name")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// A transaction whose COMMIT reached the server before the kill still
	// commits: wait until the dead process's backends are gone.
	for i := 0; checkBackends(t, url) > 0; i++ {
		if i == 200 {
			t.Fatal("the killed process's backends are still there after 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := checkLogAgrees(t, url)
	t.Logf("%d licences stored when the issuer was killed; log and licences agree", before)
	// Issuance goes on from the log as the killed process left it.
	if _, err := f.Service.Licences.IssueBulk(ctx, p, strings.NewReader(bulkInput(900000, 300)), issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: 100}, func(issuer.BulkRow) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if after := checkLogAgrees(t, url); after != before+300 {
		t.Fatalf("%d licences after 300 more, %d before", after, before)
	}
}

// countRows returns the count query sql answers on the database behind url.
func countRows(t *testing.T, url, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkBackends returns the number of the child process's backends.
func checkBackends(t *testing.T, url string) int {
	return countRows(t, url, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'logchild'`)
}

// checkCount returns the number of the department's licences.
func checkCount(t *testing.T, url string) int {
	return countRows(t, url, `SELECT count(*) FROM licences WHERE department_code = $1`, issuertest.Dept)
}

// runLogChild is the process TestLogAgreesAfterKill kills: it issues bulk
// batches and single licences until it is killed.
func runLogChild(t *testing.T, url, token string) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := issuer.New(issuer.Config{Store: st, Passphrase: []byte(issuertest.Passphrase), DecryptKey: issuertest.DecryptKey})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Admin.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				req := bizRequest(fmt.Sprintf("单件%d-%d", w, i))
				key := ""
				if i%2 == 1 {
					key = fmt.Sprintf("child-%d-%d", w, i)
				}
				if _, _, err := svc.Licences.Issue(ctx, p, req, key); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := 0; ; i++ {
		if _, err := svc.Licences.IssueBulk(ctx, p, strings.NewReader(bulkInput(i*1000, 1000)), issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: 250}, func(issuer.BulkRow) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogAgreesAfterServerCrash stops PostgreSQL with -m immediate (a
// power cut: unflushed WAL lost; the WAL writer sleeps for seconds, so
// asynchronously committed transactions not yet flushed are lost) while
// bulk batches, grouped single issuances and keyed ones run, then checks
// that the log and the licence table agree, that every answered licence
// survived, and that the log goes on.
func TestLogAgreesAfterServerCrash(t *testing.T) {
	c := pgtest.NewCluster(t, lazyWAL...)
	ctx := context.Background()
	url := c.NewDatabase("logcrash")
	st, f, p := issuerFixture(t, url)
	var mu sync.Mutex
	var answered []string
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if w == 0 {
					var ids []string
					_, err := f.Service.Licences.IssueBulk(ctx, p, strings.NewReader(bulkInput(i*100, 100)), issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: 50},
						func(r issuer.BulkRow) error {
							if r.Status == issuer.RowIssued {
								ids = append(ids, r.ID)
							}
							return nil
						})
					if err != nil {
						return
					}
					mu.Lock()
					answered = append(answered, ids...)
					mu.Unlock()
					count.Add(int64(len(ids)))
					continue
				}
				req := bizRequest(fmt.Sprintf("单件%d-%d", w, i))
				key := ""
				if w == 2 {
					key = fmt.Sprintf("crash-%d", i)
				}
				l, _, err := f.Service.Licences.Issue(ctx, p, req, key)
				if err != nil {
					return
				}
				mu.Lock()
				answered = append(answered, l.ID)
				mu.Unlock()
				count.Add(1)
			}
		})
	}
	for count.Load() < 400 {
		time.Sleep(20 * time.Millisecond)
	}
	c.Crash()
	close(stop)
	wg.Wait()
	c.Start()
	n := checkLogAgrees(t, url)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range answered {
		if _, err := readAfterRestart(ctx, st, id); err != nil {
			t.Fatalf("answered licence %s lost: %v", id, err)
		}
	}
	if n < len(answered) {
		t.Fatalf("%d licences stored, %d answered", n, len(answered))
	}
	for {
		if _, _, err := f.Service.Licences.Issue(ctx, p, bizRequest("重启后"), ""); err == nil {
			break
		} else if !store.IsUnavailable(err) {
			t.Fatal(err)
		}
	}
	if after := checkLogAgrees(t, url); after != n+1 {
		t.Fatalf("%d licences after one more, %d before", after, n)
	}
}

// TestLogRollsBackWithItsRecord makes every issuing transaction fail at
// its commit, after the append (a deferred trigger on the log's state row
// raises then), on each path that logs: grouped single issuance, keyed
// issuance, bulk, re-issue and document signing. Each call fails, and
// neither the record nor its leaf is left; once the trigger is gone the
// same paths succeed and the log and the records still agree.
func TestLogRollsBackWithItsRecord(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	_, f, p := issuerFixture(t, url)
	req := bizRequest("回滚测试")
	first, _, err := f.Service.Licences.Issue(ctx, p, req, "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `
		CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'injected failure after the append'; END $$;
		CREATE CONSTRAINT TRIGGER fail_at_commit AFTER UPDATE ON tlog_state
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit()`); err != nil {
		t.Fatal(err)
	}
	paths := map[string]func() error{
		"grouped": func() error { _, _, err := f.Service.Licences.Issue(ctx, p, req, ""); return err },
		"keyed":   func() error { _, _, err := f.Service.Licences.Issue(ctx, p, req, "rollback-key"); return err },
		"re-issue": func() error {
			_, _, err := f.Service.Licences.Reissue(ctx, p, first.ID, issuer.ReissueRequest{}, "")
			return err
		},
		"document": func() error {
			_, err := f.Service.Documents.Sign(ctx, p, issuer.SignRequest{Title: "回滚测试", Content: []byte("rollback")}, "")
			return err
		},
		"bulk": func() error {
			sum, err := f.Service.Licences.IssueBulk(ctx, p, strings.NewReader(bulkInput(0, 20)), issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: 10}, func(issuer.BulkRow) error { return nil })
			if err == nil && sum.Issued > 0 {
				return nil
			}
			return errors.Join(err, errors.New("nothing issued"))
		},
	}
	for name, call := range paths {
		if err := call(); err == nil {
			t.Errorf("%s: succeeded although its commit failed", name)
		}
	}
	if n := checkLogAgrees(t, url); n != 1 {
		t.Fatalf("%d records after the failed calls, want the 1 from before", n)
	}
	if _, err := conn.Exec(ctx, `DROP TRIGGER fail_at_commit ON tlog_state`); err != nil {
		t.Fatal(err)
	}
	for name, call := range paths {
		if err := call(); err != nil {
			t.Errorf("%s after the failure: %v", name, err)
		}
	}
	if n := checkLogAgrees(t, url); n != 1+1+1+1+1+20 {
		t.Fatalf("%d records, want 25", n)
	}
}
