package verifierapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	neturl "net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"elicence/api"
	"elicence/api/verifierapi"
	"elicence/format"
	"elicence/keys"
	"elicence/verifier"
	"elicence/verifier/verifiertest"
	"elicence/web"
)

// benchCreds is how many distinct valid credentials the load generator
// cycles through.
const benchCreds = 10_000

// benchWorld is a department with benchCreds credentials, each with its own
// real SM2 signature, at random valid entries of a real status list in
// which 1 % of the entries are revoked.
type benchWorld struct {
	w      *verifiertest.World
	d      *verifiertest.Dept
	iss    *verifiertest.Issuer
	bodies [][]byte        // JSON requests
	signed []format.Signed // the credentials, for the raw SM2 baseline
}

var (
	benchOnce sync.Once
	bench     *benchWorld
)

func newBenchWorld(b *testing.B) *benchWorld {
	benchOnce.Do(func() {
		// The issuer double lives as long as the test binary: benchmarks
		// share it.
		tb := &keepAlive{TB: b}
		bw := &benchWorld{w: verifiertest.NewWorld(tb)}
		bw.d = bw.w.Depts[0]
		bw.iss = verifiertest.NewIssuer(tb, bw.w, time.Now)
		rng := rand.New(rand.NewPCG(4, 2))
		revoked := map[uint32]format.Status{}
		for len(revoked) < format.MinStatusListSize/100 {
			revoked[uint32(rng.IntN(format.MinStatusListSize))] = format.StatusRevoked
		}
		bw.iss.SetStatusRaw(bw.d, "L1", bw.w.SignStatus(tb, bw.d, "L1", format.MinStatusListSize, time.Now(), time.Hour, revoked))
		perm := rng.Perm(format.MinStatusListSize)
		now := time.Now()
		for _, i := range perm {
			if len(bw.signed) == benchCreds {
				break
			}
			if _, r := revoked[uint32(i)]; r {
				continue
			}
			c := bw.w.Credential(bw.d, verifiertest.Serial(i), "L1", uint32(i), now)
			s := bw.w.Sign(tb, bw.d, c)
			bw.signed = append(bw.signed, s)
			bw.bodies = append(bw.bodies, jsonBody(format.QRText(format.KindCredential, s)))
		}
		bench = bw
	})
	if bench == nil {
		b.Fatal("benchmark world failed to build")
	}
	return bench
}

// keepAlive is a testing.TB whose cleanups never run, so that what the
// first benchmark builds serves the others.
type keepAlive struct{ testing.TB }

func (keepAlive) Cleanup(func()) {}

// rawVerify makes n SM2 verifications on 2 goroutines over the
// credentials' payloads and signatures. With precomputedZA, the ZA value
// of the key is computed once (as the verifier does); without, every
// verification computes it (keys.Verify).
func rawVerify(b *testing.B, bw *benchWorld, n int, precomputedZA bool) {
	pub := &bw.d.Key.PublicKey
	za, err := sm2.CalculateZA(pub, []byte(keys.DefaultUID))
	if err != nil {
		b.Fatal(err)
	}
	ders := make([][]byte, len(bw.signed))
	for i, s := range bw.signed {
		if ders[i], err = keys.DERSignature(s.Signature); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s := bw.signed[i%len(bw.signed)]
				var ok bool
				if precomputedZA {
					h := sm3.New()
					h.Write(za)
					h.Write(s.Payload)
					ok = sm2.VerifyASN1(pub, h.Sum(nil), ders[i%len(ders)])
				} else {
					ok = keys.Verify(pub, s.Payload, s.Signature)
				}
				if !ok {
					b.Error("signature does not verify")
					return
				}
			}
		})
	}
	wg.Wait()
}

func percentile(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// load posts n requests with clients concurrent clients. With rate 0 each
// client sends its next request as soon as the last one is answered
// (closed loop, saturating); with rate > 0 requests are scheduled at that
// rate and latency counts from the scheduled time (open loop), so that a
// slow answer cannot hide the queue behind it.
//
// Every answer must hold perReq passing reports (1, or a batch's size).
func load(b *testing.B, url string, bodies [][]byte, n, clients int, rate float64, lean bool, perReq int) []time.Duration {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		lat    = make([][]time.Duration, clients)
		failed atomic.Int64
		sched  = make(chan time.Time, 1024)
		passed = []byte(`"indication":"PASSED"`)
	)
	if rate > 0 {
		go func() {
			defer close(sched)
			interval := time.Duration(float64(time.Second) / rate)
			at := time.Now()
			for range n {
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				sched <- at
				at = at.Add(interval)
			}
		}()
	}
	for c := range clients {
		wg.Go(func() {
			buf := make([]byte, 0, 4096)
			var lc *leanConn
			if lean {
				var err error
				if lc, err = dialLean(url); err != nil {
					b.Error(err)
					return
				}
				defer lc.Close()
			}
			for {
				var t0 time.Time
				if rate > 0 {
					at, ok := <-sched
					if !ok {
						return
					}
					t0 = at
				} else {
					t0 = time.Now()
				}
				i := int(next.Add(1)) - 1
				if rate == 0 && i >= n {
					return
				}
				var (
					status int
					body   []byte
					err    error
				)
				if lean {
					status, body, err = lc.post(bodies[i%len(bodies)], buf[:0])
				} else {
					var resp *http.Response
					resp, err = client.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
					if err == nil {
						bb := bytes.NewBuffer(buf[:0])
						io.Copy(bb, resp.Body)
						resp.Body.Close()
						status, body = resp.StatusCode, bb.Bytes()
					}
				}
				if err != nil || status != http.StatusOK || bytes.Count(body, passed) != perReq {
					failed.Add(1)
					if err != nil {
						b.Error(err)
						return
					}
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests did not pass", f, n)
	}
	return slices.Concat(lat...)
}

// BenchmarkVerifyHTTP measures POST /v1/verify on a real HTTP server on
// 127.0.0.1 (api.ServeFast with the verify route native and the pages
// around the API, as "elicence verifier serve" runs) with a Go load generator in
// the same process, so sharing the machine's cores, over 10,000 distinct
// valid credentials checked against a real status list through the
// verifier cache. In the same run it measures raw SM2 verification on 2
// goroutines, and the latency at half the measured throughput. Run with a
// fixed count:
//
//	go test -run '^$' -bench VerifyHTTP -benchtime 20000x ./api/verifierapi
//
// Five rounds each run raw verification, the saturated HTTP load (16
// connections, closed loop) and the half load (open loop at half the
// round's throughput), so that whatever else runs on the machine weighs
// on all alike. Metrics: raw_verify/s (SM2 with ZA precomputed, as the
// verifier does), raw_full_verify/s (ZA computed each time, keys.Verify),
// req/s and its ratio to raw_verify/s, p50/p99 under saturation, and
// half_req/s with its p50/p99; and, by the process's CPU time rather than
// the wall clock, raw_cpu_us/verify, cpu_us/req and their ratio
// cpu_ratio_to_raw (how many requests cost what one raw verification does). Sub-benchmarks: lean-client, a minimal
// HTTP/1.1 client that takes little of the shared cores, and
// net-http-client, Go's own.
//
// Two more sub-benchmarks run the verifier with its signature memo, as
// "elicence verifier serve" does: memo-repeat cycles through 100
// credentials, each verified again and again (its ratio_to_raw is held
// against 3), and memo-distinct cycles through all 10,000 with a memo of
// 1,000 entries, so that every request misses and pays the full SM2
// verification plus the memo's own cost (held against lean-client).
// memo-repeat also measures, in each round, the HTTP floor: the same load
// against a server on api.ServeFast that answers every request with a
// fixed copy of a real report (floorServer), reported as floor_req/s,
// floor_ratio_to_raw and floor_cpu_us/req: what the HTTP stack, loopback
// TCP and the load generator cost with no verification at all, so that
// the table can say how much of a request is the verifier's. It also
// runs, in each round, the verify route under wider load (wideClients
// connections, closed loop), reported as wide_req/s, wide_ratio_to_raw and
// wide_cpu_us/req (wide_clients, the connection count): whether filling the cores that 16 connections leave
// idle raises the rate or only the CPU a request. idle_cores and
// wide_idle_cores are the machine's idle cores in those two phases
// (/proc/stat, where there is one).
//
// memo-batch is memo-repeat through POST /v1/verify/batch: each request
// carries verifierapi.MaxBatch of the 100 credentials (each batch starting
// one further on), and its req/s counts verifications, not requests (so
// ratio_to_raw is verifications against raw verifications; p50/p99 are per
// batch request).
func BenchmarkVerifyHTTP(b *testing.B) {
	b.Run("lean-client", func(b *testing.B) { benchmarkVerifyHTTP(b, true, 0, 0, 0) })
	b.Run("net-http-client", func(b *testing.B) { benchmarkVerifyHTTP(b, false, 0, 0, 0) })
	b.Run("memo-repeat", func(b *testing.B) { benchmarkVerifyHTTP(b, true, verifier.DefaultMemoEntries, 100, 0) })
	b.Run("memo-distinct", func(b *testing.B) { benchmarkVerifyHTTP(b, true, 1000, 0, 0) })
	b.Run("memo-batch", func(b *testing.B) {
		benchmarkVerifyHTTP(b, true, verifier.DefaultMemoEntries, 100, verifierapi.MaxBatch)
	})
}

// wideClients is memo-repeat's wider load: connections, closed loop.
const wideClients = 64

// benchmarkVerifyHTTP runs one BenchmarkVerifyHTTP variant: memo is the
// signature memo's size (0, none), repeat how many of the credentials the
// load cycles through (0, all), and batch how many texts each request
// carries to POST /v1/verify/batch (0: one each to POST /v1/verify).
func benchmarkVerifyHTTP(b *testing.B, lean bool, memo, repeat, batch int) {
	bw := newBenchWorld(b)
	bodies := bw.bodies
	if repeat > 0 {
		bodies = bodies[:repeat]
	}
	path, perReq := "/v1/verify", 1
	if batch > 0 {
		path, perReq = "/v1/verify/batch", batch
		texts := make([]string, len(bodies))
		for i := range texts {
			texts[i] = format.QRText(format.KindCredential, bw.signed[i])
		}
		var batches [][]byte
		for start := range texts {
			req := struct {
				QRTexts []string `json:"qr_texts"`
			}{}
			for k := range batch {
				req.QRTexts = append(req.QRTexts, texts[(start+k)%len(texts)])
			}
			body, err := json.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			batches = append(batches, body)
		}
		bodies = batches
	}
	var m *verifier.SignatureMemo
	if memo > 0 {
		m = verifier.NewSignatureMemo(memo)
	}
	c, err := verifier.New(context.Background(), verifier.FetchConfig{
		Root: bw.w.RootPublic(), Trust: bw.iss.TrustURL(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// The server is configured as "elicence verifier serve" configures it:
	// the stand-alone server with its middleware and metrics, the pages
	// around it, on api.ServeFast with POST /v1/verify as its native route.
	// Logs are discarded: one line per request would measure the log sink.
	reg := prometheus.NewRegistry()
	srv := verifierapi.New(verifierapi.Config{
		Verify: verifier.Config{Trust: c.Trust, Status: c.Status, Memo: m},
		Logger: slog.New(slog.DiscardHandler), Registry: reg, Gatherer: reg, Stats: c.Stats,
	})
	h := web.VerifierPages().Wrap(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- api.ServeFast(ctx, ln, h, srv.FastRoute(), time.Second) }()
	defer func() {
		stop()
		<-served
	}()
	url := "http://" + ln.Addr().String() + path
	// Warm up: the trust list and the status list are fetched once.
	load(b, url, bodies, max(200/perReq, 4), 4, 0, false, perReq)
	// memo-repeat also measures the HTTP floor in every round: the same
	// load against a server that answers every request with a fixed copy
	// of a real report (floorServer), which is what the HTTP stack, the
	// kernel's loopback TCP and the load generator cost without any
	// verification.
	var floorURL string
	if repeat > 0 && batch == 0 {
		floorURL = floorServer(b, url, path, bodies[0])
	}

	// The phases alternate in rounds so that whatever else runs on the
	// machine weighs on the raw and the HTTP figures alike; each round's
	// half-load phase runs at half the throughput just measured.
	b.ResetTimer()
	const rounds = 5
	per := max(b.N/rounds, 100)
	var (
		rawTime, fullTime, satTime, halfTime time.Duration
		floorTime, floorCPU                  time.Duration
		wideTime, wideCPU                    time.Duration
		satIdle, wideIdle                    time.Duration
		idleOK                               = true
		rawCPU, satCPU                       time.Duration
		satLat, half                         []time.Duration
		floorN, wideN                        int
	)
	for range rounds {
		start, cpu := time.Now(), processCPUTime()
		rawVerify(b, bw, per, true)
		rawTime += time.Since(start)
		rawCPU += processCPUTime() - cpu
		start = time.Now()
		rawVerify(b, bw, per/4, false)
		fullTime += time.Since(start)
		start, cpu = time.Now(), processCPUTime()
		idle, ok := machineIdle()
		reqs := max(per/perReq, 16)
		satLat = append(satLat, load(b, url, bodies, reqs, 16, 0, lean, perReq)...)
		d := time.Since(start)
		satTime += d
		satCPU += processCPUTime() - cpu
		idle2, ok2 := machineIdle()
		satIdle += idle2 - idle
		idleOK = idleOK && ok && ok2
		start = time.Now()
		half = append(half, load(b, url, bodies, reqs/2, 16, float64(reqs)/d.Seconds()/2, lean, perReq)...)
		halfTime += time.Since(start)
		if floorURL != "" {
			start, cpu = time.Now(), processCPUTime()
			floorN += len(load(b, floorURL, bodies, reqs, 16, 0, lean, perReq))
			floorTime += time.Since(start)
			floorCPU += processCPUTime() - cpu
			// The verify route again under wider load: four times the
			// connections, closed loop, to show what filling the
			// cores the 16 leave idle does.
			start, cpu = time.Now(), processCPUTime()
			idle, _ = machineIdle()
			wideN += len(load(b, url, bodies, reqs, wideClients, 0, lean, perReq))
			wideTime += time.Since(start)
			wideCPU += processCPUTime() - cpu
			idle2, _ = machineIdle()
			wideIdle += idle2 - idle
		}
	}
	raw := float64(rounds*per) / rawTime.Seconds()
	rawFull := float64(rounds*(per/4)) / fullTime.Seconds()
	sat := float64(len(satLat)*perReq) / satTime.Seconds()
	b.StopTimer()

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(raw, "raw_verify/s")
	b.ReportMetric(rawFull, "raw_full_verify/s")
	b.ReportMetric(sat, "req/s")
	b.ReportMetric(sat/raw, "ratio_to_raw")
	// The same comparison by CPU time, which other processes on a busy
	// machine skew far less: the process's CPU (server, load generator,
	// garbage collector) per request against its CPU per raw verification.
	us := func(d time.Duration, n int) float64 { return float64(d) / float64(time.Microsecond) / float64(n) }
	b.ReportMetric(us(rawCPU, rounds*per), "raw_cpu_us/verify")
	b.ReportMetric(us(satCPU, len(satLat)*perReq), "cpu_us/req")
	b.ReportMetric(us(rawCPU, rounds*per)/us(satCPU, len(satLat)*perReq), "cpu_ratio_to_raw")
	if floorN > 0 {
		// The floor's throughput and CPU per request, against the same
		// raw verification: what no verification at all would reach.
		b.ReportMetric(float64(floorN)/floorTime.Seconds(), "floor_req/s")
		b.ReportMetric(float64(floorN)/floorTime.Seconds()/raw, "floor_ratio_to_raw")
		b.ReportMetric(us(floorCPU, floorN), "floor_cpu_us/req")
	}
	if wideN > 0 {
		b.ReportMetric(float64(wideN)/wideTime.Seconds(), "wide_req/s")
		b.ReportMetric(float64(wideN)/wideTime.Seconds()/raw, "wide_ratio_to_raw")
		b.ReportMetric(us(wideCPU, wideN), "wide_cpu_us/req")
		b.ReportMetric(wideClients, "wide_clients")
		if idleOK {
			b.ReportMetric(wideIdle.Seconds()/wideTime.Seconds(), "wide_idle_cores")
		}
	}
	if idleOK {
		// The machine's idle cores during the saturated phase (all
		// processes): what the load left unused.
		b.ReportMetric(satIdle.Seconds()/satTime.Seconds(), "idle_cores")
	}
	b.ReportMetric(ms(percentile(satLat, .50)), "p50_ms")
	b.ReportMetric(ms(percentile(satLat, .99)), "p99_ms")
	b.ReportMetric(float64(len(half)*perReq)/halfTime.Seconds(), "half_req/s")
	b.ReportMetric(ms(percentile(half, .50)), "half_p50_ms")
	b.ReportMetric(ms(percentile(half, .99)), "half_p99_ms")
	b.ReportMetric(0, "ns/op")
}

// floorServer starts, for the rest of the benchmark, a server on
// api.ServeFast (the limits and the native route of "elicence verifier
// serve") whose route at path answers every request with the bytes, status
// and content type the verifier at url answered body with, without
// looking at what it is sent. It returns its URL.
func floorServer(b *testing.B, url, path string, body []byte) string {
	lc, err := dialLean(url)
	if err != nil {
		b.Fatal(err)
	}
	status, answer, err := lc.post(body, nil)
	lc.Close()
	if err != nil || status != http.StatusOK {
		b.Fatalf("floor answer: status %d, %v", status, err)
	}
	answer = bytes.Clone(answer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	route := api.FastRoute{Method: http.MethodPost, Path: path, MaxBody: 1 << 20,
		Serve: func(rc *fasthttp.RequestCtx, _ context.Context, _ []byte) bool {
			rc.SetContentType("application/json")
			rc.SetBody(answer)
			return true
		}}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- api.ServeFast(ctx, ln, http.NotFoundHandler(), route, time.Second) }()
	b.Cleanup(func() {
		stop()
		<-served
	})
	return "http://" + ln.Addr().String() + path
}

// BenchmarkVerifyCore is Verify alone, in process, on 2 goroutines: what
// the HTTP layer adds is the difference to BenchmarkVerifyHTTP.
func BenchmarkVerifyCore(b *testing.B) {
	bw := newBenchWorld(b)
	c, err := verifier.New(context.Background(), verifier.FetchConfig{
		Root: bw.w.RootPublic(), Trust: bw.iss.TrustURL(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cfg := verifier.Config{Trust: c.Trust, Status: c.Status}
	texts := make([]string, len(bw.bodies))
	for i, body := range bw.bodies {
		var req struct {
			QRText string `json:"qr_text"`
		}
		json.Unmarshal(body, &req)
		texts[i] = req.QRText
	}
	if r := verifier.Verify(context.Background(), texts[0], cfg); r.Indication != verifier.Passed {
		b.Fatalf("%s/%s %s", r.Indication, r.SubIndication, r.Reason)
	}
	var next atomic.Int64
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) % len(texts)
			if r := verifier.Verify(context.Background(), texts[i], cfg); r.Indication != verifier.Passed {
				b.Errorf("%s/%s", r.Indication, r.SubIndication)
			}
		}
	})
}

// leanConn is a minimal HTTP/1.1 client on one kept-alive connection: it
// writes each request in one piece and reads the response's status line,
// headers and Content-Length body itself, without net/http's transport
// goroutines and header maps, so that the load generator takes as little
// as it can of the cores it shares with the server.
type leanConn struct {
	net.Conn
	br   *bufio.Reader
	head []byte
}

func dialLean(rawURL string) (*leanConn, error) {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	head := "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: "
	return &leanConn{Conn: c, br: bufio.NewReaderSize(c, 16<<10), head: []byte(head)}, nil
}

// post sends body and returns the response's status code and body, read
// into buf. It understands only what the verifier sends: a status line,
// headers with Content-Length, and that many bytes.
func (c *leanConn) post(body, buf []byte) (int, []byte, error) {
	req := append(append(append(append(buf[:0], c.head...), strconv.Itoa(len(body))...), "\r\n\r\n"...), body...)
	if _, err := c.Write(req); err != nil {
		return 0, nil, err
	}
	status, length := 0, -1
	for first := true; ; first = false {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case first:
			// HTTP/1.1 200 OK
			if len(line) < 12 {
				return 0, nil, fmt.Errorf("bad status line %q", line)
			}
			status, _ = strconv.Atoi(string(line[9:12]))
			continue
		case len(line) == 0:
		case len(line) > 15 && bytes.EqualFold(line[:15], []byte("Content-Length:")):
			length, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			continue
		default:
			continue
		}
		break
	}
	if length < 0 {
		return 0, nil, errors.New("response without Content-Length")
	}
	out := buf[:0]
	if cap(out) < length {
		out = make([]byte, length)
	}
	out = out[:length]
	_, err := io.ReadFull(c.br, out)
	return status, out, err
}
