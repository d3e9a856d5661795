package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicence/format"
	"elicence/verifier/verifiertest"
)

// BenchmarkVerifierMemory measures the resident memory of a real
// "elicence verifier serve" process holding status lists for 1,048,576
// licences: 8 lists of 131,072 entries, each with 1 % of its entries
// revoked and 0.5 % suspended at random, fetched over HTTP from an issuer
// double. It reports the RSS after start (trust list only), after every
// list was fetched (one verification per list), and after 2,000 more
// verifications, in MB. Run with
//
//	go test -run '^$' -bench VerifierMemory -benchtime 1x ./e2e
func BenchmarkVerifierMemory(b *testing.B) {
	const lists = 8
	w := verifiertest.NewWorld(b)
	d := w.Depts[0]
	iss := verifiertest.NewIssuer(b, w, time.Now)
	iss.TTL = time.Hour
	rng := rand.New(rand.NewPCG(1, 1))
	valid := make([][]uint32, lists)
	for l := range lists {
		set := map[uint32]format.Status{}
		for len(set) < format.MinStatusListSize*3/200 {
			s := format.StatusRevoked
			if len(set)%3 == 2 {
				s = format.StatusSuspended
			}
			set[uint32(rng.IntN(format.MinStatusListSize))] = s
		}
		id := fmt.Sprintf("L%d", l)
		raw := w.SignStatus(b, d, id, format.MinStatusListSize, time.Now(), time.Hour, set)
		iss.SetStatusRaw(d, id, raw)
		for len(valid[l]) < 250 {
			if i := uint32(rng.IntN(format.MinStatusListSize)); set[i] == format.StatusValid {
				valid[l] = append(valid[l], i)
			}
		}
		b.Logf("list %s: %d entries, %d revoked or suspended, %d bytes signed", id, format.MinStatusListSize, len(set), len(raw))
	}
	texts := make([]string, 0, lists*250)
	for l := range lists {
		for _, i := range valid[l] {
			texts = append(texts, w.QR(b, d, w.Credential(d, verifiertest.Serial(l*format.MinStatusListSize+int(i)), fmt.Sprintf("L%d", l), i, time.Now())))
		}
	}
	rootFile := filepath.Join(b.TempDir(), "root.pub")
	if err := os.WriteFile(rootFile, w.RootPEM(b), 0o644); err != nil {
		b.Fatal(err)
	}

	for range b.N {
		v := start(b, "verifier", nil, "verifier", "serve", "--root", rootFile, "--trust", iss.TrustURL(),
			"--no-stream", "--addr", "127.0.0.1:0")
		base := v.await(b, listenAddr, 30*time.Second)
		waitReady(b, base, 30*time.Second)
		idle, _ := v.rss(b)
		for l := range lists {
			if r := verify(b, base, texts[l*250]); r.Indication != "PASSED" {
				b.Fatalf("list %d: %s %s", l, r.verdict(), r.Reason)
			}
		}
		loaded, _ := v.rss(b)
		for _, text := range texts {
			if r := verify(b, base, text); r.Indication != "PASSED" {
				b.Fatalf("%s %s", r.verdict(), r.Reason)
			}
		}
		after, peak := v.rss(b)
		mb := func(n int64) float64 { return float64(n) / (1 << 20) }
		b.ReportMetric(mb(idle), "rss_idle_MB")
		b.ReportMetric(mb(loaded), "rss_1M_licences_MB")
		b.ReportMetric(mb(after), "rss_after_2000_verifications_MB")
		b.ReportMetric(mb(peak), "rss_peak_MB")
		v.stop(b)
	}
	b.ReportMetric(0, "ns/op")
}
