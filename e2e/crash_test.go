package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicence/format"
	"elicence/internal/testenv"
	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/issuer/store/sqlite"
	"elicence/keys"
)

// Crash tests: the issuer killed with SIGKILL, PostgreSQL stopped with
// -m immediate. make test runs a few rounds of each; make crash
// (ELICENCE_LONG=1) runs the full count.

// rounds returns the number of rounds: full under ELICENCE_LONG=1, short
// otherwise.
func rounds(full, short int) int {
	if os.Getenv("ELICENCE_LONG") == "1" {
		return full
	}
	return short
}

// issuerDB is a populated issuer database and what is needed to serve it.
type issuerDB struct {
	backend string
	db      string // --db: a postgres URL or an SQLite file
	args    []string
	env     []string
	tokens  map[string]string
	root    string // the root certificate file, for verifiers
}

// newIssuerDB populates a database of the backend ("sqlite" or
// "postgres"; url is the PostgreSQL database, or "" for a new one on the
// shared test server) with the test fixture: departments, keys, tokens.
func newIssuerDB(t testing.TB, backend, pgURL string) *issuerDB {
	t.Helper()
	ctx := context.Background()
	d := &issuerDB{backend: backend, tokens: map[string]string{}}
	var st store.Store
	var err error
	switch backend {
	case "sqlite":
		d.db = filepath.Join(t.TempDir(), "issuer.db")
		st, err = sqlite.Open(ctx, sqlite.Config{Path: d.db})
	default:
		d.db = pgURL
		if d.db == "" {
			d.db = pgtest.NewDatabase(t)
		}
		st, err = postgres.Open(ctx, postgres.Config{URL: d.db})
	}
	if err != nil {
		t.Fatal(err)
	}
	root := issuertest.Root(t)
	svc, err := issuer.New(issuer.Config{Store: st, Passphrase: []byte(issuertest.Passphrase), Root: &root, DecryptKey: issuertest.DecryptKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := issuertest.Populate(ctx, svc, d.tokens); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	st.Close()
	dir := t.TempDir()
	keyPEM, err := keys.MarshalPrivateKey(root.Key, []byte(issuertest.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, keys.RootKeyFile), keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, keys.RootCertFile), keys.CertificatePEM(root.Cert.Raw), 0o644)
	d.root = filepath.Join(dir, keys.RootCertFile)
	d.args = []string{"--db", d.db, "--root-key", filepath.Join(dir, keys.RootKeyFile), "--rate-limit", "1000000", "--status-ttl", "2s"}
	d.env = []string{"ELICENCE_PASSPHRASE=" + issuertest.Passphrase}
	return d
}

// serve starts "elicence issuer serve" on the database at addr and waits
// until it is ready.
func (d *issuerDB) serve(t testing.TB, addr string) (*proc, string) {
	t.Helper()
	p := start(t, "issuer", d.env, append([]string{"issuer", "serve", "--addr", addr}, d.args...)...)
	base := p.await(t, listenAddr, 60*time.Second)
	waitReady(t, base, 30*time.Second)
	return p, base
}

// open opens the database for the checks (while the issuer runs or not).
func (d *issuerDB) open(t *testing.T) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if d.backend == "sqlite" {
		st, err = sqlite.Open(context.Background(), sqlite.Config{Path: d.db})
	} else {
		st, err = postgres.Open(context.Background(), postgres.Config{URL: d.db})
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// kill kills the process with SIGKILL and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// answer is an HTTP answer, or the error of a request that got none.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

var crashClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

func send(base, token, method, path, contentType string, body io.Reader, hdr ...string) answer {
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := crashClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{status: res.StatusCode, err: err}
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

// holderName is a holder name unique to a test, round and request, so
// that the licences of each request can be counted in the store.
func holderName(tag string, round, i int) string {
	const digits = "〇一二三四五六七八九"
	var b strings.Builder
	b.WriteString("赵")
	for _, c := range fmt.Sprintf("%s%d%06d", tag, round, i) {
		if c >= '0' && c <= '9' {
			b.WriteString(string([]rune(digits)[c-'0']))
		} else {
			b.WriteString(map[rune]string{'a': "甲", 'b': "乙", 'c': "丙", 'd': "丁", 'e': "戊", 's': "己"}[c])
		}
	}
	return b.String()
}

func issueBody(name string) string {
	return fmt.Sprintf(`{"type": "11110000MB00000048001", "holder_name": %q, "holder_id": "350102199003071234", "valid_from": "2024-01-15", "fields": {"cc": "C1", "fi": "2012-01-15"}}`, name)
}

// keyed is one keyed issuance and, maybe, its revocation, as the client
// saw them.
type keyed struct {
	key, name string
	id        string // from a 201 or 200 answer
	answered  bool   // the issuance got a 2xx
	revoke    bool   // a revocation was sent
	revoked   bool   // and got a 200
}

// issueKeyed sends a keyed issuance and records a 2xx answer.
func issueKeyed(base, token string, k *keyed) answer {
	a := send(base, token, "POST", "/v1/licences", "application/json", strings.NewReader(issueBody(k.name)), "Idempotency-Key", k.key)
	if a.err == nil && (a.status == http.StatusCreated || a.status == http.StatusOK) {
		var l struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(a.body, &l); err == nil && l.ID != "" {
			if k.id != "" && k.id != l.ID {
				a.err = fmt.Errorf("key %s answered %s, earlier %s", k.key, l.ID, k.id)
			}
			k.id, k.answered = l.ID, true
		}
	}
	return a
}

func revoke(base, token, id string) answer {
	return send(base, token, "POST", "/v1/licences/"+url.PathEscape(id)+"/revoke", "application/json", strings.NewReader(`{"reason":"cancelled"}`))
}

// finish makes every request of the round final after a crash: each key is
// sent again (the answered ones must return the same licence), and each
// revocation sent is sent again (409 means it was done).
func finish(t *testing.T, base, token string, reqs []*keyed) {
	t.Helper()
	for _, k := range reqs {
		before := k.id
		a := issueKeyed(base, token, k)
		if a.err != nil || (a.status != http.StatusOK && a.status != http.StatusCreated) {
			t.Fatalf("key %s sent again: %d %v %s", k.key, a.status, a.err, a.body)
		}
		if before != "" && k.id != before {
			t.Fatalf("key %s sent again returned %s, first %s", k.key, k.id, before)
		}
		if before != "" && a.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("key %s answered before, sent again: not marked Idempotent-Replayed", k.key)
		}
		if k.revoke && !k.revoked {
			a := revoke(base, token, k.id)
			if a.err != nil || (a.status != http.StatusOK && a.status != http.StatusConflict) {
				t.Fatalf("revocation of %s sent again: %d %v %s", k.id, a.status, a.err, a.body)
			}
			k.revoked = true
		}
	}
}

// census reads every licence of the fixture department: by holder name,
// and the whole set.
func census(t *testing.T, st store.Store) (map[string][]store.Licence, []store.Licence) {
	t.Helper()
	byName := map[string][]store.Licence{}
	var all []store.Licence
	cursor := ""
	for {
		page, next, err := st.ListLicences(context.Background(), store.LicenceQuery{DepartmentCode: issuertest.Dept, Cursor: cursor, Limit: store.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			byName[l.HolderName] = append(byName[l.HolderName], l)
			all = append(all, l)
		}
		if next == "" {
			return byName, all
		}
		cursor = next
	}
}

// checkKeyed checks the store against what clients were told: every key's
// request issued exactly one licence, the one answered, and every
// revocation sent is in force.
func checkKeyed(t *testing.T, byName map[string][]store.Licence, reqs []*keyed) {
	t.Helper()
	for _, k := range reqs {
		ls := byName[k.name]
		if len(ls) != 1 {
			t.Fatalf("key %s: %d licences for its holder, want exactly 1", k.key, len(ls))
		}
		if ls[0].ID != k.id {
			t.Fatalf("key %s: stored licence %s, answered %s", k.key, ls[0].ID, k.id)
		}
		if k.revoke && ls[0].Status != store.StatusRevoked {
			t.Fatalf("licence %s: revocation answered or re-sent, but it is %s", k.id, ls[0].Status)
		}
	}
}

// checkAudit runs "elicence audit verify" on the database.
func checkAudit(t *testing.T, d *issuerDB) {
	t.Helper()
	cmd := exec.Command(binary, "audit", "verify", "--db", d.db)
	cmd.Env = append(os.Environ(), d.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}

// checkStatusLists fetches every status list the issuer publishes for the
// licences and checks that each licence's entry is its status in the
// table.
func checkStatusLists(t *testing.T, base string, all []store.Licence) {
	t.Helper()
	lists := map[string]*format.Statuses{}
	for _, l := range all {
		s, ok := lists[l.StatusListID]
		if !ok {
			a := send(base, "", "GET", "/v1/status/"+url.PathEscape(l.StatusListID), "", nil)
			if a.err != nil || a.status != http.StatusOK {
				t.Fatalf("status list %s: %d %v %s", l.StatusListID, a.status, a.err, a.body)
			}
			_, sl, err := format.ParseStatusList(a.body)
			if err != nil {
				t.Fatalf("status list %s: %v", l.StatusListID, err)
			}
			if s, err = sl.Statuses(); err != nil {
				t.Fatal(err)
			}
			lists[l.StatusListID] = s
		}
		if got := s.Get(l.StatusIndex); int(got) != int(l.Status) {
			t.Fatalf("licence %s: status list %s entry %d is %d, the table says %s", l.ID, l.StatusListID, l.StatusIndex, got, l.Status)
		}
	}
}

// bulkSummary matches bulk-issue's summary line.
var bulkSummary = regexp.MustCompile(`(\d+) rows: (\d+) issued \((\d+) by an earlier send\)`)

// TestCrashKillIssuer kills the issuer process with SIGKILL during a
// stream of keyed single issuances and revocations, and during a bulk
// upload, on both stores, then restarts it and checks that everything a
// client was told exists exactly once, that Idempotency-Key retries return
// the same licence, that the interrupted upload sent again completes with
// no duplicate, that the audit chain verifies and that the status lists
// agree with the licence table.
func TestCrashKillIssuer(t *testing.T) {
	testenv.SkipShort(t, "kills and restarts issuer processes")
	n := rounds(10, 2)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			d := newIssuerDB(t, backend, "")
			token := d.tokens[issuertest.TokenIssuer]
			stats := struct{ answered, unanswered, revoked, bulkRows, bulkInterrupted, bulkReported, bulkReplayed int }{}
			for round := range n {
				// Single issuances and revocations.
				p, base := d.serve(t, "127.0.0.1:0")
				var reqs []*keyed
				var mu sync.Mutex
				var next atomic.Int64
				var killed atomic.Bool
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						for !killed.Load() {
							i := int(next.Add(1))
							k := &keyed{key: fmt.Sprintf("kill-%s-%d-%d", backend, round, i), name: holderName("s", round, i)}
							mu.Lock()
							reqs = append(reqs, k)
							mu.Unlock()
							issueKeyed(base, token, k)
							if k.answered && i%2 == 0 {
								k.revoke = true
								if a := revoke(base, token, k.id); a.err == nil && a.status == http.StatusOK {
									k.revoked = true
								}
							}
						}
					})
				}
				time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
				killed.Store(true)
				p.kill()
				wg.Wait()
				for _, k := range reqs {
					if k.answered {
						stats.answered++
					} else {
						stats.unanswered++
					}
					if k.revoked {
						stats.revoked++
					}
				}
				p, base = d.serve(t, "127.0.0.1:0")
				finish(t, base, token, reqs)

				// A bulk upload, killed part way.
				const rows = 4000
				var upload bytes.Buffer
				for i := 1; i <= rows; i++ {
					upload.WriteString(issueBody(holderName("b", round, i)) + "\n")
				}
				file := filepath.Join(t.TempDir(), "rows.ndjson")
				os.WriteFile(file, upload.Bytes(), 0o600)
				bulkKey := fmt.Sprintf("bulk-%s-%d", backend, round)
				done := make(chan answer, 1)
				go func() {
					done <- send(base, token, "POST", "/v1/licences/batch?batch_size=250", "application/x-ndjson",
						io.MultiReader(bytes.NewReader(upload.Bytes())), "Idempotency-Key", bulkKey)
				}()
				time.Sleep(time.Duration(200+rand.IntN(1500)) * time.Millisecond)
				p.kill()
				first := <-done
				if first.err == nil && first.status == http.StatusOK {
					stats.bulkReported += bytes.Count(first.body, []byte(`"status":"issued"`))
				} else {
					stats.bulkInterrupted++
				}
				p, base = d.serve(t, "127.0.0.1:0")
				cmd := exec.Command(binary, "bulk-issue", "--server", base, "--token", token, "--idempotency-key", bulkKey, "--batch-size", "400", file)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("round %d: bulk-issue sent again: %v\n%s", round, err, stderr.Bytes())
				}
				stats.bulkRows += rows
				if m := bulkSummary.FindStringSubmatch(stderr.String()); m != nil {
					replayed, _ := strconv.Atoi(m[3])
					stats.bulkReplayed += replayed
				}

				// The checks, against the store.
				st := d.open(t)
				byName, all := census(t, st)
				checkKeyed(t, byName, reqs)
				lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
				if len(lines) != rows {
					t.Fatalf("round %d: bulk-issue reported %d rows, want %d", round, len(lines), rows)
				}
				for i, line := range lines {
					row, id, _ := strings.Cut(line, "\t")
					name := holderName("b", round, i+1)
					ls := byName[name]
					if row != strconv.Itoa(i+1) || len(ls) != 1 || ls[0].ID != id {
						t.Fatalf("round %d: bulk row %d: line %q, %d licences for its holder", round, i+1, line, len(ls))
					}
				}
				st.Close()
				checkAudit(t, d)
				checkStatusLists(t, base, all)
				p.stop(t)
				t.Logf("round %d: %d keyed requests, %d licences in the store", round, len(reqs), len(all))
			}
			t.Logf("%s: %d rounds of each: single issuances %d answered before the kill, %d unanswered (finished by retry), %d revocations answered; bulk %d rows in %d uploads, %d uploads interrupted, %d rows reported before the kill, %d replayed when sent again",
				backend, n, stats.answered, stats.unanswered, stats.revoked, stats.bulkRows, n, stats.bulkInterrupted, stats.bulkReported, stats.bulkReplayed)
		})
	}
}

// lazyWAL makes the private cluster's WAL writer flush asynchronous
// commits only every 10 seconds, so that a change answered before its
// commit reached the disk is lost in an immediate stop.
var lazyWAL = []string{"wal_writer_delay = 10s", "wal_writer_flush_after = 1GB", "autovacuum = off", "checkpoint_timeout = 1h"}

// TestCrashPostgresStop stops PostgreSQL with -m immediate under keyed
// issuances and revocations, on a cluster of the test's own, and starts it
// again, while one issuer process keeps running: meanwhile every answer is
// a 2xx or 503 with Retry-After saying the store is unavailable and
// /readyz is not ready; afterwards the issuer recovers by itself, every
// 2xx is still there, and the keys answered 503 finish when sent again.
func TestCrashPostgresStop(t *testing.T) {
	testenv.SkipShort(t, "stops and starts a PostgreSQL cluster")
	c := pgtest.NewCluster(t, lazyWAL...)
	d := newIssuerDB(t, "postgres", c.NewDatabase("issuer"))
	token := d.tokens[issuertest.TokenIssuer]
	p, base := d.serve(t, "127.0.0.1:0")
	n := rounds(5, 2)
	var total struct{ ok, unavailable, revoked, requests int }
	for round := range n {
		var reqs []*keyed
		var mu sync.Mutex
		var next atomic.Int64
		var stop atomic.Bool
		var ok, unavailable atomic.Int64
		bad := make(chan string, 100)
		check := func(what string, a answer) bool {
			switch {
			case a.err != nil:
				bad <- fmt.Sprintf("%s: %v", what, a.err)
			case a.status/100 == 2:
				ok.Add(1)
				return true
			case a.status == http.StatusServiceUnavailable:
				unavailable.Add(1)
				if a.header.Get("Retry-After") == "" || !strings.Contains(string(a.body), "store is unavailable") {
					bad <- fmt.Sprintf("%s: 503 without Retry-After or the reason: %v %s", what, a.header, a.body)
				}
			default:
				bad <- fmt.Sprintf("%s: %d %s", what, a.status, a.body)
			}
			return false
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					i := int(next.Add(1))
					k := &keyed{key: fmt.Sprintf("pgstop-%d-%d", round, i), name: holderName("c", round, i)}
					mu.Lock()
					reqs = append(reqs, k)
					mu.Unlock()
					if !check("issue "+k.key, issueKeyed(base, token, k)) {
						time.Sleep(100 * time.Millisecond) // as a client told Retry-After would
						continue
					}
					if i%2 == 0 {
						k.revoke = true
						k.revoked = check("revoke "+k.id, revoke(base, token, k.id))
					}
				}
			})
		}
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		c.Crash()
		time.Sleep(time.Second)
		r := send(base, "", "GET", "/readyz", "", nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("round %d: /readyz while PostgreSQL is down: %d %v %s", round, r.status, r.header, r.body)
		}
		c.Start()
		waitReady(t, base, 60*time.Second)
		time.Sleep(500 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		close(bad)
		for b := range bad {
			t.Errorf("round %d: %s", round, b)
		}
		if t.Failed() {
			t.FailNow()
		}
		if unavailable.Load() == 0 {
			t.Errorf("round %d: no 503 while PostgreSQL was down", round)
		}
		select {
		case <-p.done:
			t.Fatalf("the issuer exited: %v", p.exited)
		default:
		}
		finish(t, base, token, reqs)
		st := d.open(t)
		byName, all := census(t, st)
		checkKeyed(t, byName, reqs)
		st.Close()
		checkAudit(t, d)
		checkStatusLists(t, base, all)
		revoked := 0
		for _, k := range reqs {
			if k.revoke {
				revoked++
			}
		}
		t.Logf("round %d: %d requests, %d answered 2xx, %d answered 503, %d revocations", round, len(reqs), ok.Load(), unavailable.Load(), revoked)
		total.ok += int(ok.Load())
		total.unavailable += int(unavailable.Load())
		total.requests += len(reqs)
		total.revoked += revoked
	}
	t.Logf("%d rounds: %d keyed issuances, %d answers 2xx (all found after recovery), %d answers 503 with Retry-After, %d revocations",
		n, total.requests, total.ok, total.unavailable, total.revoked)
}
