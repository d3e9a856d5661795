package issuerapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"elicence/issuer"
	"elicence/issuer/issuertest"
	"elicence/issuer/store/postgres"
	"elicence/issuer/store/postgres/pgtest"
	"elicence/keys"
)

// BenchmarkIssueHTTP issues single licences over HTTP on PostgreSQL from
// 16 concurrent clients, and reports throughput and latency percentiles.
//
//	go test ./api/issuerapi -run '^$' -bench IssueHTTP -benchtime 20000x
func BenchmarkIssueHTTP(b *testing.B) {
	const clients = 16
	// One connection per client (pgx's default pool is max(4, CPUs)), so
	// that concurrent commits share WAL flushes.
	st, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.NewDatabase(b) + "&pool_max_conns=" + strconv.Itoa(clients+4)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e := newEnv(b, st, issuer.Config{}, Config{RateLimit: 1e9, RateBurst: 1e9})
	tok := e.tokens[issuertest.TokenIssuer]
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr}
	body := []byte(refBusiness)
	issue := func() (time.Duration, error) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/licences", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			return 0, io.ErrUnexpectedEOF
		}
		return time.Since(start), nil
	}
	for range clients { // warm up: connections, key cache
		if _, err := issue(); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= int64(b.N) {
					return
				}
				d, err := issue()
				if err != nil {
					b.Error(err)
					return
				}
				lat[i] = d
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "licences/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkBulkIssue issues 100,000 licences per operation through the
// bulk path (NDJSON, batches of 10,000, COPY) on PostgreSQL, and reports
// throughput, the share of batch time spent building and signing
// credentials versus storing them, and the CPU time a licence costs in
// this process and in the PostgreSQL backends serving the database
// (cpuMeter), which load on a shared machine skews far less than the rate.
//
//	go test ./api/issuerapi -run '^$' -bench 'BulkIssue$' -benchtime 3x
func BenchmarkBulkIssue(b *testing.B) {
	benchBulk(b, 100_000, issuer.Config{})
}

// BenchmarkBulkIssueLog is what the issuance log costs bulk issuance:
// the bulk path of BenchmarkBulkIssue, 20,000 licences per run, with the
// log off (LogConfig.Disabled) and on (every licence a leaf, one append
// per batch, checkpoints co-signed every second meanwhile), each on a
// database of its own. Every operation runs both, off then on, so that the
// two rates are measured side by side under the same load; log-cost-% is
// how much longer the runs with the log took in all.
//
//	go test ./api/issuerapi -run '^$' -bench BulkIssueLog -benchtime 4x
func BenchmarkBulkIssueLog(b *testing.B) {
	w, err := keys.Generate(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	const n = 20_000
	off := newBulkRig(b, issuer.Config{Log: issuer.LogConfig{Disabled: true}})
	on := newBulkRig(b, issuer.Config{Log: issuer.LogConfig{Witness: w}})
	var tOff, tOn float64
	ops := 0
	for b.Loop() {
		tOff += off.run(b, n)
		tOn += on.run(b, n)
		ops++
	}
	b.StopTimer()
	off.cpu.report(b, n*ops, "licence-off")
	on.cpu.report(b, n*ops, "licence-on")
	b.ReportMetric(float64(n*ops)/tOff, "off-licences/s")
	b.ReportMetric(float64(n*ops)/tOn, "on-licences/s")
	b.ReportMetric(100*(tOn/tOff-1), "log-cost-%")
}

// benchBulk bulk-issues n licences per operation on a new PostgreSQL
// database with the service configured by scfg.
func benchBulk(b *testing.B, n int, scfg issuer.Config) {
	r := newBulkRig(b, scfg)
	var total float64
	ops := 0
	for b.Loop() {
		total += r.run(b, n)
		ops++
	}
	b.StopTimer()
	r.cpu.report(b, n*ops, "licence")
	b.ReportMetric(float64(n*ops)/total, "licences/s")
	b.ReportMetric(100*r.sign/(r.sign+r.store), "%sign")
	b.ReportMetric(100*r.store/(r.sign+r.store), "%store")
}

// bulkRig is an issuer on a PostgreSQL database of its own, ready to
// bulk-issue, with the CPU meter of its runs and their batches' signing
// and storing time.
type bulkRig struct {
	e           *env
	p           *issuer.Principal
	cpu         *cpuMeter
	sign, store float64
	input       string // n rows, made by the first run
}

func newBulkRig(b *testing.B, scfg issuer.Config) *bulkRig {
	url := pgtest.NewDatabase(b)
	st, err := postgres.Open(context.Background(), postgres.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	r := &bulkRig{cpu: newCPUMeter(b, url), e: newEnv(b, st, scfg, Config{})}
	if r.p, err = r.e.svc.Admin.Authenticate(context.Background(), r.e.tokens[issuertest.TokenIssuer]); err != nil {
		b.Fatal(err)
	}
	if scfg.Log.Witness != nil {
		// A running issuer has its checkpoint keys: make them (PBKDF2,
		// slow on purpose) before the clock starts.
		if err := r.e.svc.Log.Checkpoint(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// run bulk-issues n licences and returns the seconds it took.
func (r *bulkRig) run(b *testing.B, n int) float64 {
	if len(r.input) != n*(len(refDriving)+1) {
		r.input = strings.Repeat(refDriving+"\n", n)
	}
	r.cpu.start()
	start := time.Now()
	sum, err := r.e.svc.Licences.IssueBulk(context.Background(), r.p, strings.NewReader(r.input),
		issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: issuer.MaxBulkBatchSize}, func(issuer.BulkRow) error { return nil })
	if err != nil || sum.Issued != n {
		b.Fatalf("issued %d of %d: %v\n%s", sum.Issued, n, err, r.e.logs.String())
	}
	d := time.Since(start).Seconds()
	r.cpu.stop()
	r.sign += sum.SignSeconds
	r.store += sum.StoreSeconds
	return d
}

// BenchmarkReissueKey measures the remedy for a retired key against bulk
// issuance in the same run, on PostgreSQL: per operation it bulk-issues n
// licences (batches of 1000, the remedy's batch size), rotates the
// department's key, and re-issues all n under the new key with
// ReissueKey. It reports both rates and their ratio.
//
//	go test ./api/issuerapi -run '^$' -bench ReissueKey -benchtime 2x
func BenchmarkReissueKey(b *testing.B) {
	const n = 20_000
	input := strings.Repeat(refDriving+"\n", n)
	var bulkSec, reSec, bulkSign, bulkStore, reSign, reStore float64
	ops := 0
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, issuertest.Postgres(b), issuer.Config{}, Config{})
		ctx := context.Background()
		p, err := e.svc.Admin.Authenticate(ctx, e.tokens[issuertest.TokenIssuer])
		if err != nil {
			b.Fatal(err)
		}
		old, err := e.f.Store.ActiveSigningKey(ctx, issuertest.Dept)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		sum, err := e.svc.Licences.IssueBulk(ctx, p, strings.NewReader(input),
			issuer.BulkOptions{Format: issuer.BulkNDJSON, BatchSize: issuer.DefaultBulkBatchSize}, func(issuer.BulkRow) error { return nil })
		if err != nil || sum.Issued != n {
			b.Fatalf("issued %d of %d: %v\n%s", sum.Issued, n, err, e.logs.String())
		}
		bulkSec += time.Since(start).Seconds()
		bulkSign, bulkStore = bulkSign+sum.SignSeconds, bulkStore+sum.StoreSeconds
		b.StopTimer()
		if _, err := e.svc.Admin.NewDepartmentKey(ctx, issuer.Operator(), issuertest.Dept); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		rs, err := e.svc.Licences.ReissueKey(ctx, issuer.Operator(), issuertest.Dept, old.ID, issuer.ReissueKeyOptions{})
		if err != nil || rs.Reissued != n {
			b.Fatalf("re-issued %d of %d: %v\n%s", rs.Reissued, n, err, e.logs.String())
		}
		reSec += time.Since(start).Seconds()
		reSign, reStore = reSign+rs.SignSeconds, reStore+rs.StoreSeconds
		ops++
	}
	b.StopTimer()
	b.ReportMetric(float64(n*ops)/bulkSec, "bulk-licences/s")
	b.ReportMetric(float64(n*ops)/reSec, "reissue-licences/s")
	b.ReportMetric(bulkSec/reSec, "reissue/bulk")
	b.ReportMetric(bulkStore/float64(n*ops)*1e6, "bulk-store-µs/licence")
	b.ReportMetric(reStore/float64(n*ops)*1e6, "reissue-store-µs/licence")
	b.ReportMetric(bulkSign/float64(n*ops)*1e6, "bulk-sign-µs/licence")
	b.ReportMetric(reSign/float64(n*ops)*1e6, "reissue-sign-µs/licence")
}
