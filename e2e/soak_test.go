package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicence/internal/testenv"
	"elicence/issuer/issuertest"
	"elicence/issuer/store"
)

// soakDuration is how long TestSoak runs: $ELICENCE_SOAK (make soak sets
// 10m), or 20 seconds.
func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("ELICENCE_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("ELICENCE_SOAK=%q: %v", s, err)
		}
		return d
	}
	return 20 * time.Second
}

var goroutinesMetric = regexp.MustCompile(`(?m)^go_goroutines (\d+)`)

// goroutines reads a service's go_goroutines metric.
func goroutines(base string) (int, error) {
	a := send(base, "", "GET", "/metrics", "", nil)
	if a.err != nil || a.status != http.StatusOK {
		return 0, fmt.Errorf("metrics: %d %v", a.status, a.err)
	}
	m := goroutinesMetric.FindSubmatch(a.body)
	if m == nil {
		return 0, fmt.Errorf("no go_goroutines in the metrics")
	}
	return strconv.Atoi(string(m[1]))
}

// verifyText posts a QR text to a verifier and returns the verdict.
func verifyText(base, text string) (string, error) {
	body, _ := json.Marshal(map[string]string{"qr_text": text})
	res, err := crashClient.Post(base+"/v1/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("verify: %d %s", res.StatusCode, b)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return "", err
	}
	return r.verdict(), nil
}

// TestSoak runs mixed issuance, revocation and verification at a steady
// rate against an issuer on PostgreSQL and a verifier, both real
// processes, for soakDuration: no error answer, goroutines and memory
// flat, every revocation REVOKED at the end, and the store holding
// exactly what was answered.
func TestSoak(t *testing.T) {
	testenv.SkipShort(t, "runs services under load for a while")
	dur := soakDuration(t)
	d := newIssuerDB(t, "postgres", "")
	token := d.tokens[issuertest.TokenIssuer]
	iss, base := d.serve(t, "127.0.0.1:0")
	vp := start(t, "verifier", nil, "verifier", "serve", "--root", d.root, "--trust", base+"/v1/trust-list",
		"--dept", issuertest.Other, "--addr", "127.0.0.1:0", "--max-refresh", "1s")
	vbase := vp.await(t, listenAddr, 30*time.Second)
	waitReady(t, vbase, 30*time.Second)

	const issueRate, revokeRate, verifyRate = 20, 4, 40 // per second
	type issued struct{ id, qr string }
	var (
		mu              sync.Mutex
		licences        []issued
		revoked         = map[string]bool{}
		errs            []string
		nIssue, nRevoke atomic.Int64
		nVerify         atomic.Int64
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		if len(errs) < 50 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	every := func(rate int, fn func(i int)) {
		wg.Go(func() {
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				wg.Go(func() { fn(i) })
			}
		})
	}
	every(issueRate, func(i int) {
		k := &keyed{key: fmt.Sprintf("soak-%d", i), name: holderName("s", 0, i)}
		a := issueKeyed(base, token, k)
		if a.err != nil || a.status != http.StatusCreated {
			fail("issue %d: %d %v %s", i, a.status, a.err, a.body)
			return
		}
		var l struct {
			QR string `json:"qr_text"`
		}
		json.Unmarshal(a.body, &l)
		nIssue.Add(1)
		mu.Lock()
		licences = append(licences, issued{k.id, l.QR})
		mu.Unlock()
	})
	every(revokeRate, func(i int) {
		mu.Lock()
		var l issued
		for range 5 {
			if len(licences) == 0 {
				break
			}
			if c := licences[rand.IntN(len(licences))]; !revoked[c.id] {
				l = c
				revoked[c.id] = true
				break
			}
		}
		mu.Unlock()
		if l.id == "" {
			return
		}
		if a := revoke(base, token, l.id); a.err != nil || a.status != http.StatusOK {
			fail("revoke %s: %d %v %s", l.id, a.status, a.err, a.body)
			return
		}
		nRevoke.Add(1)
	})
	every(verifyRate, func(i int) {
		mu.Lock()
		if len(licences) == 0 {
			mu.Unlock()
			return
		}
		l := licences[rand.IntN(len(licences))]
		mu.Unlock()
		v, err := verifyText(vbase, l.qr)
		if err != nil || (v != "PASSED" && v != "FAILED/REVOKED") {
			fail("verify %s: %s %v", l.id, v, err)
			return
		}
		nVerify.Add(1)
	})

	// Samples: goroutines and resident memory of both services.
	type sample struct {
		at                   time.Duration
		issG, verG           int
		issRSS, verRSS, peak int64
	}
	var samples []sample
	interval := min(30*time.Second, max(dur/10, time.Second))
	begin := time.Now()
	for time.Since(begin) < dur {
		time.Sleep(interval)
		var s sample
		s.at = time.Since(begin).Round(time.Second)
		var err1, err2 error
		s.issG, err1 = goroutines(base)
		s.verG, err2 = goroutines(vbase)
		if err1 != nil || err2 != nil {
			fail("metrics: %v %v", err1, err2)
		}
		s.issRSS, s.peak = iss.rss(t)
		s.verRSS, _ = vp.rss(t)
		samples = append(samples, s)
		t.Logf("%6s: issued %d, revoked %d, verified %d; issuer %d goroutines %d MiB, verifier %d goroutines %d MiB",
			s.at, nIssue.Load(), nRevoke.Load(), nVerify.Load(), s.issG, s.issRSS>>20, s.verG, s.verRSS>>20)
	}
	close(stop)
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}

	// Flat: after the first sample (warm-up), the last quarter of the
	// samples may not exceed the second sample by much.
	if len(samples) >= 4 {
		ref := samples[1]
		tail := samples[len(samples)*3/4:]
		maxOf := func(f func(sample) int64) int64 {
			return slices.Max(mapSamples(tail, f))
		}
		if g := maxOf(func(s sample) int64 { return int64(s.issG) }); g > int64(ref.issG)*3/2+20 {
			t.Errorf("issuer goroutines grew from %d to %d", ref.issG, g)
		}
		if g := maxOf(func(s sample) int64 { return int64(s.verG) }); g > int64(ref.verG)*3/2+20 {
			t.Errorf("verifier goroutines grew from %d to %d", ref.verG, g)
		}
		if m := maxOf(func(s sample) int64 { return s.issRSS }); m > ref.issRSS*2+(32<<20) {
			t.Errorf("issuer memory grew from %d to %d MiB", ref.issRSS>>20, m>>20)
		}
		if m := maxOf(func(s sample) int64 { return s.verRSS }); m > ref.verRSS*2+(32<<20) {
			t.Errorf("verifier memory grew from %d to %d MiB", ref.verRSS>>20, m>>20)
		}
	}

	// Every revocation is REVOKED once the lists have been refreshed.
	time.Sleep(3 * time.Second) // status TTL 2 s, verifier refresh ≤ 1 s
	mu.Lock()
	defer mu.Unlock()
	for _, l := range licences {
		v, err := verifyText(vbase, l.qr)
		want := "PASSED"
		if revoked[l.id] {
			want = "FAILED/REVOKED"
		}
		if err != nil || v != want {
			t.Errorf("licence %s at the end: %s %v, want %s", l.id, v, err, want)
		}
	}
	// Counts reconciled with the store.
	st := d.open(t)
	defer st.Close()
	_, all := census(t, st)
	nRevoked := 0
	for _, l := range all {
		if l.Status == store.StatusRevoked {
			nRevoked++
			if !revoked[l.ID] {
				t.Errorf("licence %s revoked in the store, never by the soak", l.ID)
			}
		}
	}
	if len(all) != len(licences) || int64(len(all)) != nIssue.Load() || int64(nRevoked) != nRevoke.Load() {
		t.Errorf("store holds %d licences, %d revoked; answered %d issuances (%d held), %d revocations",
			len(all), nRevoked, nIssue.Load(), len(licences), nRevoke.Load())
	}
	checkAudit(t, d)
	checkStatusLists(t, base, all)
	t.Logf("soak of %s: %d issuances, %d revocations, %d verifications answered, %d errors; every licence verified at the end (%d REVOKED); store %d licences, %d revoked",
		dur, nIssue.Load(), nRevoke.Load(), nVerify.Load(), len(errs), len(revoked), len(all), nRevoked)
}

func mapSamples[S any](ss []S, f func(S) int64) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}
